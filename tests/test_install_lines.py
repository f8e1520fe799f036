"""Every install line in the repository installs this project, under its own PyPI name.

The name `assetgen` on PyPI belongs to an unrelated project, so the distribution is
`assetgen-cli` (the import name and the command stay `assetgen`); a `pip install
assetgen` anywhere in the docs, examples or messages would install someone else's code.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = None

ROOT = Path(__file__).resolve().parent.parent
_INSTALL = re.compile(r"pip install((?:\s+-[-\w]+)*)\s+(['\"]?)([^\s'\"()`]+)")


def _dist_name() -> str:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if tomllib is not None:
        name: str = tomllib.loads(text)["project"]["name"]
        return name
    match = re.search(r'^name = "([^"]+)"', text, re.M)
    assert match
    return match.group(1)


def _tracked_text_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # an sdist: no git
        out = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    keep = (".py", ".md", ".yml", ".yaml", ".toml", ".txt")
    return [ROOT / f for f in out if f.endswith(keep) or f.endswith("/run") or f == ".ci/run"]


def test_the_distribution_name_is_not_the_unrelated_assetgen() -> None:
    """pyproject names a distribution other than PyPI's unrelated `assetgen`."""
    assert _dist_name() == "assetgen-cli"


def test_every_install_line_installs_this_project() -> None:
    """Each `pip install X` in docs, examples, CI files and messages installs this checkout
    (`.`, `-e .`) or the project by its distribution name, never the unrelated `assetgen`."""
    name = _dist_name()
    seen = 0
    for path in _tracked_text_files():
        if path.is_relative_to(ROOT / "tests"):  # tests quote the messages, regex-escaped
            continue
        for match in _INSTALL.finditer(path.read_text(encoding="utf-8", errors="replace")):
            target = match.group(3)
            seen += 1
            ok = target.startswith(".") or re.fullmatch(rf"{re.escape(name)}(\[[\w,]+\])?", target)
            assert ok, f"{path.relative_to(ROOT)}: `{match.group(0)}` does not install {name}"
    assert seen >= 5  # the README, the CI examples and the hints all have some
