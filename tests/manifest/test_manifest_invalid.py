"""Invalid manifests: every one exits 2 with located, helpful messages and writes nothing.

Each file in ``invalid/`` states what it expects in its leading comments::

    # expect: LINE:COL: message (a substring of it)
    # hint: a substring of that problem's hint

and must produce exactly those problems, in that order (file order).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from assetgen import cli, parse_manifest
from assetgen.errors import ManifestError

INVALID = Path(__file__).parent / "invalid"
CASES = sorted(INVALID.glob("*.yaml"))
_DIAG = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


@dataclass
class Problem:
    position: str  # "line:col"
    message: str
    hint: str | None = None


def expected(path: Path) -> list[Problem]:
    """The ``# expect:`` / ``# hint:`` lines at the top of a case file."""
    out: list[Problem] = []
    for line in path.read_bytes().decode("utf-8", "replace").splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# expect: "):
            position, message = line[len("# expect: ") :].split(": ", 1)
            out.append(Problem(position, message))
        elif line.startswith("# hint: "):
            out[-1].hint = line[len("# hint: ") :]
    return out


def reported(stderr: str) -> list[Problem]:
    """Parse the CLI's stderr; every line must be a located problem, a hint or the summary."""
    problems: list[Problem] = []
    lines = stderr.splitlines()
    assert lines, "no output on stderr"
    summary = lines.pop()
    assert re.fullmatch(r"assetgen: \d+ problems? found; nothing was written", summary), summary
    for line in lines:
        if line.startswith("  hint: "):
            assert problems and problems[-1].hint is None, f"stray hint: {line}"
            problems[-1].hint = line[len("  hint: ") :]
            continue
        m = _DIAG.match(line)
        assert m, f"not `file:line:col: message`: {line!r}"
        assert m["file"].endswith("assetgen.yaml"), line
        problems.append(Problem(f"{m['line']}:{m['col']}", m["message"]))
    assert summary.startswith(f"assetgen: {len(problems)} problem"), summary
    return problems


def run(project: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["-C", str(project), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSETGEN_MAX_MANIFEST_BYTES", raising=False)


def test_there_are_enough_cases() -> None:
    """The corpus covers at least 35 invalid manifests, each stating its expectations."""
    assert len(CASES) >= 35
    for case in CASES:
        assert expected(case), f"{case.name} has no `# expect:` line"


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_invalid_manifest_is_reported(
    case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`validate` exits 2 with exactly the expected located problems and hints, in file order."""
    (tmp_path / "assetgen.yaml").write_bytes(case.read_bytes())
    code, out, err = run(tmp_path, "validate", capsys=capsys)
    assert code == 2, err
    assert out == ""
    got = reported(err)
    want = expected(case)
    assert [p.position for p in got] == [p.position for p in want], err
    for g, w in zip(got, want, strict=True):
        assert w.message in g.message, err
        if w.hint is not None:
            assert g.hint is not None and w.hint in g.hint, err


@pytest.mark.parametrize("command", ["validate", "plan", "check"])
@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_invalid_manifest_writes_nothing(
    case: Path, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any command that reads an invalid manifest exits 2 and leaves no .assetgen/ and no lock."""
    (tmp_path / "assetgen.yaml").write_bytes(case.read_bytes())
    code, _, _ = run(tmp_path, command, capsys=capsys)
    assert code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assetgen.yaml"]


@pytest.mark.parametrize(
    "case", ["unknown-key-asset", "yaml-unclosed-quote", "callback-127-1", "many-errors"]
)
def test_invalid_manifest_through_python_m(case: str, tmp_path: Path) -> None:
    """`python -m assetgen -C DIR validate` exits 2 and prints the located problems on stderr."""
    source = INVALID / f"{case}.yaml"
    (tmp_path / "assetgen.yaml").write_bytes(source.read_bytes())
    proc = subprocess.run(
        [sys.executable, "-m", "assetgen", "-C", str(tmp_path), "validate"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    got = reported(proc.stderr)
    assert [(p.position, p.message) for p in got] == [
        (p.position, g.message) for p, g in zip(expected(source), got, strict=True)
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assetgen.yaml"]


def test_problems_are_sorted_by_position() -> None:
    """Problems found by different passes (YAML, schema, resolution) come out in file order."""
    with pytest.raises(ManifestError) as info:
        parse_manifest((INVALID / "many-errors.yaml").read_bytes(), "m.yaml")
    positions = [(d.line, d.col) for d in info.value.diagnostics]
    assert len(positions) == 5
    assert positions == sorted(positions)


def test_alias_bomb_is_refused_fast() -> None:
    """A billion-laughs document is refused after a bounded amount of work, not expanded."""
    data = (INVALID / "alias-bomb.yaml").read_bytes()
    start = time.perf_counter()
    with pytest.raises(ManifestError, match="alias bomb"):
        parse_manifest(data, "bomb.yaml")
    assert time.perf_counter() - start < 1.0


VALID = b"""\
version: 1
assets:
  hero:
    prompt: a city skyline at dawn
    size: 16:9
"""


def test_unquoted_ratio_is_a_ratio() -> None:
    """`size: 16:9` unquoted means the ratio 16:9 (YAML 1.1 would read the integer 969)."""
    (spec,) = parse_manifest(VALID, "m.yaml").specs
    assert spec.size == "16:9"
    assert (spec.width, spec.height) == (1344, 768)


def test_oversized_manifest_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A manifest over ASSETGEN_MAX_MANIFEST_BYTES exits 2 with the size, the limit and a hint."""
    (tmp_path / "assetgen.yaml").write_bytes(VALID)
    monkeypatch.setenv("ASSETGEN_MAX_MANIFEST_BYTES", "64")
    code, _, err = run(tmp_path, "validate", capsys=capsys)
    assert code == 2
    (problem,) = reported(err)
    assert problem.position == "1:1"
    assert f"file is {len(VALID)} bytes, over the 64-byte limit" in problem.message
    assert problem.hint is not None and "ASSETGEN_MAX_MANIFEST_BYTES" in problem.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assetgen.yaml"]


def test_manifest_limit_can_be_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The size limit is a limit, not a rule: at or under it, the same manifest is valid."""
    (tmp_path / "assetgen.yaml").write_bytes(VALID)
    monkeypatch.setenv("ASSETGEN_MAX_MANIFEST_BYTES", str(len(VALID)))
    code, out, _ = run(tmp_path, "validate", capsys=capsys)
    assert code == 0
    assert "valid, 1 asset" in out


@pytest.mark.parametrize("value", ["lots", "0", "-5"])
def test_bad_manifest_limit_is_a_usage_error(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A nonsensical ASSETGEN_MAX_MANIFEST_BYTES is a usage error (exit 2) that names it."""
    (tmp_path / "assetgen.yaml").write_bytes(VALID)
    monkeypatch.setenv("ASSETGEN_MAX_MANIFEST_BYTES", value)
    code, _, err = run(tmp_path, "validate", capsys=capsys)
    assert code == 2
    assert "ASSETGEN_MAX_MANIFEST_BYTES" in err
