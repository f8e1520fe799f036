"""The command line's own contract: commands, global options, exit codes, output streams."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from assetgen._version import __version__
from assetgen.build.selection import BuildOptions
from assetgen.cli import main
from assetgen.commands import project as commands
from assetgen.project import find_project


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the version and exits 0."""
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and __version__ in capsys.readouterr().out


def test_python_dash_m_runs_the_cli(quickstart: Path) -> None:
    """`python -m assetgen` is the same CLI as the console script."""
    proc = subprocess.run(
        [sys.executable, "-m", "assetgen", "-C", str(quickstart), "validate"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "valid, 4 assets" in proc.stdout


def test_init_writes_a_manifest_that_builds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """init writes a valid starter manifest, refuses to overwrite it, and the starter plans cleanly."""
    assert main(["-C", str(tmp_path), "init"]) == 0
    assert (tmp_path / "assetgen.yaml").is_file()
    assert main(["-C", str(tmp_path), "init"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["-C", str(tmp_path), "validate"]) == 0
    assert main(["-C", str(tmp_path), "check"]) == 1  # nothing built yet
    assert main(["-C", str(tmp_path), "build"]) == 0  # the starter uses the free draft provider
    assert main(["-C", str(tmp_path), "check"]) == 0


@pytest.mark.parametrize("which", ["manifest", "lock"])
def test_schema_prints_json_schema(which: str, capsys: pytest.CaptureFixture[str]) -> None:
    """schema prints the manifest's (or, with --lock, the lock's) JSON Schema 2020-12."""
    assert main(["schema", *(["--lock"] if which == "lock" else [])]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "assets" in schema["properties"]


def test_dash_f_selects_another_manifest_and_its_lock(quickstart: Path) -> None:
    """-f FILE uses that manifest, and the lock beside it named after it."""
    (quickstart / "assetgen.yaml").rename(quickstart / "images.yaml")
    assert main(["-C", str(quickstart), "-f", "images.yaml", "build", "--provider", "draft"]) == 0
    assert (quickstart / "images.lock").is_file() and not (quickstart / "assetgen.lock").exists()


def test_missing_manifest_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Running in a directory with no manifest exits 2 and suggests init."""
    assert main(["-C", str(tmp_path), "plan"]) == 2
    assert "assetgen init" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["validate", "plan", "build", "init"])
def test_dash_f_naming_a_directory_is_a_usage_error(
    quickstart: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """-f DIR exits 2 with one message naming it (not an IsADirectoryError traceback)."""
    (quickstart / "art").mkdir()
    assert main(["-C", str(quickstart), "-f", "art", command]) == 2
    err = capsys.readouterr().err
    assert err.startswith("-f art: is a directory") and "Traceback" not in err
    assert "hint: name the file (-f art/assetgen.yaml)" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["build", "--jobs", "0"],
        ["build", "--max-credits", "-1"],
        ["plan", "--provider", "nope"],
        ["frobnicate"],
    ],
)
def test_bad_flags_exit_2(quickstart: Path, argv: list[str]) -> None:
    """Bad flag values and unknown commands are usage errors (exit 2)."""
    with pytest.raises(SystemExit) as exc:
        main(["-C", str(quickstart), *argv])
    assert exc.value.code == 2


def test_check_exit_codes(quickstart: Path) -> None:
    """check exits 1 while anything is out of date and 0 once built."""
    assert main(["-C", str(quickstart), "check", "--provider", "draft"]) == 1
    assert main(["-C", str(quickstart), "build", "--provider", "draft"]) == 0
    assert main(["-C", str(quickstart), "check", "--provider", "draft"]) == 0
    # the provider is part of each spec: against evolink everything would be regenerated
    assert main(["-C", str(quickstart), "check", "--provider", "evolink"]) == 1


def test_plan_json_shape(quickstart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """plan --json prints one object with actions, summary and credits, as design.md fixes."""
    assert main(["-C", str(quickstart), "plan", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"actions", "summary", "credits"}
    assert {"name", "action", "reason", "cached", "credits"} <= set(doc["actions"][0])
    assert doc["summary"]["create"] == 4 and doc["credits"] == pytest.approx(1.8 + 3 * 0.45)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_the_live_display(quickstart: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal the build shows a progress bar with counts and credits, then the summary."""
    monkeypatch.delenv("NO_COLOR")
    out = _Terminal()
    code = commands.build(
        find_project(quickstart), options=BuildOptions(), provider="draft", out=out
    )
    text = out.getvalue()
    assert code == 0
    assert "building" in text and "4/4" in text and "cr" in text
    assert "Build done: 4 created; 4 generated, 0 from cache" in text


def test_no_terminal_prints_one_line_per_asset(quickstart: Path) -> None:
    """Without a terminal each finished asset gets one line, then the summary."""
    out = io.StringIO()
    assert (
        commands.build(find_project(quickstart), options=BuildOptions(), provider="draft", out=out)
        == 0
    )
    lines = out.getvalue().splitlines()
    assert sum(1 for line in lines if line.startswith("  created ")) == 4
    assert lines[-1].startswith("Build done:")


def test_commands_find_the_manifest_in_a_parent_folder(
    quickstart: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run in a subfolder, a command works on the nearest assetgen.yaml above it, as git does."""
    sub = quickstart / "assets" / "icons"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert main(["validate"]) == 0
    assert "valid, 4 assets" in capsys.readouterr().out
    assert find_project().root == quickstart.resolve()
    assert find_project(sub).manifest_path == quickstart / "assetgen.yaml"


def test_manifest_search_stops_at_the_repository_root(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The search does not leave a git repository: a manifest above its root is not its project."""
    repo = quickstart / "vendor" / "other"
    (repo / ".git").mkdir(parents=True)
    (repo / "docs").mkdir()
    assert main(["-C", str(repo / "docs"), "plan"]) == 2
    err = capsys.readouterr().err
    assert "no manifest here or in a parent folder" in err
    assert find_project(repo / "docs").manifest_path == repo / "docs" / "assetgen.yaml"


def test_init_writes_the_schema_its_manifest_names(tmp_path: Path) -> None:
    """The starter's `$schema=` reference resolves: init writes that file, equal to `assetgen schema`."""
    assert main(["-C", str(tmp_path), "init"]) == 0
    first = (tmp_path / "assetgen.yaml").read_text(encoding="utf-8").splitlines()[0]
    ref = first.split("$schema=", 1)[1]
    schema_file = (tmp_path / ref).resolve()
    assert schema_file.is_file()
    out = io.StringIO()
    commands.print_schema("manifest", out=out)
    assert schema_file.read_text(encoding="utf-8") == out.getvalue()
    assert json.loads(out.getvalue())["$schema"].startswith("https://json-schema.org/")


def test_init_in_a_subfolder_writes_there(quickstart: Path) -> None:
    """init names the manifest in the folder it is given, never the parent project's."""
    sub = quickstart / "nested"
    sub.mkdir()
    out = io.StringIO()
    assert commands.init(find_project(sub, search=False), out=out) == 0
    assert (sub / "assetgen.yaml").is_file()
    assert "is another project above this one" in out.getvalue()  # said, not silent


def test_pre_commit_check_runs_on_every_commit() -> None:
    """The `assetgen-check` hook is not filtered to the manifest and lock: an image edit alone
    must run it (and a project in a subfolder is checked through `args: [-C, DIR]`)."""
    import yaml

    hooks = yaml.safe_load((Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text())
    check = next(h for h in hooks if h["id"] == "assetgen-check")
    assert check.get("always_run") is True and "files" not in check
    assert check["pass_filenames"] is False and check["entry"] == "assetgen check"


def test_plan_check_gallery_and_diff_take_a_selection(
    quickstart: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """plan, check, gallery and diff take the NAME/GLOB selection build takes."""
    root = str(quickstart)
    assert main(["-C", root, "build", "--provider", "draft"]) == 0
    old_lock = tmp_path / "old.lock"
    old_lock.write_bytes((quickstart / "assetgen.lock").read_bytes())
    (quickstart / "assets" / "hero-home.png").unlink()
    capsys.readouterr()

    assert main(["-C", root, "plan", "--provider", "draft", "--json", "icon-*"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(a["name"] for a in doc["actions"]) == [
        "icon-profile",
        "icon-search",
        "icon-settings",
    ]
    assert main(["-C", root, "check", "--provider", "draft", "icon-*"]) == 0  # hero is not asked
    assert main(["-C", root, "check", "--provider", "draft", "hero-home"]) == 1
    assert main(["-C", root, "plan", "--provider", "draft", "nope-*"]) == 2
    assert "no asset matches `nope-*`" in capsys.readouterr().err

    assert main(["-C", root, "gallery", "--provider", "draft", "icon-search"]) == 0
    assert "(1 asset: 1 up to date" in capsys.readouterr().out

    manifest = quickstart / "assetgen.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace("a simple icon", "a bold icon"),
        encoding="utf-8",
    )
    args = ["-C", root, "diff", "--provider", "draft", "--json", "--lock", str(old_lock)]
    assert main([*args, "icon-search"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in doc["assets"]] == ["icon-search"]
    assert main(args) == 0
    assert len(json.loads(capsys.readouterr().out)["assets"]) == 3


def test_build_json_reports_each_state_once_and_ends_with_the_summary(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`build --json --gallery`: one event per state change, and the summary stays the last
    line (the gallery event comes before it), for a build with work and a no-op one."""
    for _ in range(2):  # the second build has nothing to do
        args = ["-C", str(quickstart), "build", "--provider", "draft", "--json", "--gallery"]
        assert main(args) == 0
        events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        states = [(e["name"], e["state"]) for e in events if e["event"] == "state"]
        assert len(states) == len(set(states)), states
        assert [e["event"] for e in events][-2:] == ["gallery", "summary"]
        if _ == 0:
            assert ("hero-home", "running") in states
