"""Builds killed mid-way (SIGINT, SIGTERM, SIGKILL) leave a consistent tree and resume without redoing work."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assetgen.lock.read import read_lock


def draft_build(root: Path) -> list[str]:
    """The command line of a draft build of ``root`` with JSON events."""
    return [
        sys.executable,
        "-m",
        "assetgen",
        "-C",
        str(root),
        "build",
        "--provider",
        "draft",
        "--json",
    ]


def start_build(root: Path, *extra: str, delay: float = 0.3) -> subprocess.Popen[str]:
    env = {**os.environ, "ASSETGEN_DRAFT_DELAY": str(delay), "NO_COLOR": "1"}
    return subprocess.Popen(
        [*draft_build(root), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for_finished(
    proc: subprocess.Popen[str], count: int, timeout: float = 60
) -> list[dict[str, object]]:
    """Read events until ``count`` assets have finished; return the events read."""
    assert proc.stdout is not None
    events = []
    deadline = time.monotonic() + timeout
    done = 0
    while done < count:
        assert time.monotonic() < deadline, "build did not progress"
        line = proc.stdout.readline()
        assert line, f"build ended early: {proc.stderr.read() if proc.stderr else ''}"
        event = json.loads(line)
        events.append(event)
        if event["event"] == "finished":
            done += 1
    return events


def build_again(root: Path) -> subprocess.CompletedProcess[str]:
    """A plain second build, as a user would run it after the interruption."""
    return subprocess.run(
        draft_build(root),
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
    )


def assert_consistent(root: Path) -> set[str]:
    """Every locked output exists with its locked hash, and no temp file is left; returns locked names."""
    lock = read_lock(root / "assetgen.lock")
    for entry in lock.entries.values():
        data = (root / entry.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256
    leftovers = [p for p in root.rglob(".assetgen-tmp-*") if ".assetgen" not in p.parts]
    assert not leftovers
    return set(lock.entries)


def finished_outputs(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in (root / "assets").rglob("*") if p.is_file()}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly_writes_the_lock_and_exits_130(
    design_system: Path, sig: signal.Signals
) -> None:
    """SIGINT/SIGTERM: nothing new starts, what is in hand is written, the lock is written, exit 130."""
    proc = start_build(design_system, "--jobs", "2")
    wait_for_finished(proc, 3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    locked = assert_consistent(design_system)
    assert 3 <= len(locked) < 25
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["event"] == "summary" and summary["interrupted"] is True
    # The next build finishes the rest and regenerates nothing already locked.
    rest = build_again(design_system)
    assert rest.returncode == 0, rest.stderr
    regenerated = {
        e["name"]
        for e in map(json.loads, rest.stdout.splitlines())
        if e["event"] == "finished" and e["source"] == "generated"
    }
    assert not regenerated & locked
    assert len(assert_consistent(design_system)) == 25


def test_kill_9_then_build_again_regenerates_nothing_finished(design_system: Path) -> None:
    """After kill -9 mid-build, the next build recovers every finished asset without generating it again."""
    proc = start_build(design_system, "--jobs", "3")
    wait_for_finished(proc, 5)
    proc.kill()
    proc.wait(timeout=30)
    done_before = finished_outputs(design_system)
    assert len(done_before) >= 5
    rest = build_again(design_system)
    assert rest.returncode == 0, rest.stderr
    events = [json.loads(line) for line in rest.stdout.splitlines()]
    regenerated_paths = {
        e["path"] for e in events if e["event"] == "finished" and e["source"] == "generated"
    }
    assert not regenerated_paths & done_before
    assert len(assert_consistent(design_system)) == 25


def test_temp_files_of_a_killed_build_are_swept(quickstart: Path) -> None:
    """Temp files a killed build left beside outputs are removed by the next build; users' files stay."""
    code = subprocess.run(
        [sys.executable, "-m", "assetgen", "-C", str(quickstart), "build", "--provider", "draft"],
        capture_output=True,
        timeout=120,
    ).returncode
    assert code == 0
    icons = quickstart / "assets/icons"
    (icons / ".assetgen-tmp-search.png.k2j3h4.tmp").write_bytes(b"half an image")
    (icons / ".notes.tmp").write_bytes(b"mine")
    (quickstart / ".assetgen/assetgen.building").touch()  # as a build killed mid-way leaves it
    code = subprocess.run(
        [sys.executable, "-m", "assetgen", "-C", str(quickstart), "build", "--provider", "draft"],
        capture_output=True,
        timeout=120,
    ).returncode
    assert code == 0
    assert sorted(p.name for p in icons.iterdir() if p.name.startswith(".")) == [".notes.tmp"]


# A real SIGINT to this very process while Python imports one of assetgen's modules
# (before any command has installed a handler), then the console script's own code.
_SIGINT_AT_IMPORT = """
import importlib.abc, os, signal, sys, runpy

TARGET, HOW = sys.argv[1:3]
sys.argv[1:] = sys.argv[3:]

class SigintAt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == TARGET:
            os.kill(os.getpid(), signal.SIGINT)  # KeyboardInterrupt on the next bytecode
        return None

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if ignored here
sys.meta_path.insert(0, SigintAt())
if HOW == "-m":
    runpy.run_module("assetgen", run_name="__main__", alter_sys=True)
else:
    from assetgen.cli import main  # what the `assetgen` console script runs
    sys.exit(main())
"""


@pytest.mark.parametrize(
    ("module", "how"),
    [
        ("assetgen.project", "script"),  # imported by assetgen.cli itself
        ("assetgen.lock.model", "-m"),
        ("assetgen.commands.project", "script"),  # imported by main() before the command runs
        ("assetgen.cli", "-m"),
    ],
)
def test_ctrl_c_during_start_up_is_a_quiet_exit_130(
    quickstart: Path, module: str, how: str
) -> None:
    """^C while assetgen is still loading exits 130 with one line, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-c", _SIGINT_AT_IMPORT, module, how, "-C", str(quickstart), "plan"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr == "assetgen: interrupted\n" and proc.stdout == ""


def test_ctrl_c_while_parsing_the_command_line_is_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The parser is built inside main's handler too."""
    from assetgen import cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["plan"]) == 130
    assert capsys.readouterr().err == "assetgen: interrupted\n"
