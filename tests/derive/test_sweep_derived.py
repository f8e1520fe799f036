"""A build killed mid-derive leaves temp files beside derived files: the next build
sweeps them from every derived file's folder, including folders that hold derived
files only (no master there), and leaves users' own files alone."""

from __future__ import annotations

import io
from pathlib import Path

from assetgen import find_project
from assetgen.build.selection import BuildOptions
from assetgen.commands import project as commands
from assetgen.fsutil import TEMP_PREFIX
from tests.conftest import RecordingProvider

MANIFEST = """version: 1
provider: draft
assets:
  hero:
    prompt: a city skyline
    derive:
      - {output: "ico/${name}.ico", sizes: [16, 32]}
      - output: "meta/${name}.webmanifest"
        template: webmanifest
        params: {name: "${name}", icons: [{src: ../ico/hero.ico, sizes: 32x32}]}
"""


def build(root: Path) -> int:
    return commands.build(
        find_project(root),
        options=BuildOptions(),
        provider="draft",
        out=io.StringIO(),
        provider_factory=lambda name: RecordingProvider(),
    )


def test_temp_files_in_derived_only_folders_are_swept(tmp_path: Path) -> None:
    (tmp_path / "assetgen.yaml").write_text(MANIFEST)
    assert build(tmp_path) == 0
    folders = [tmp_path / "assets/ico", tmp_path / "assets/meta"]
    for folder in folders:
        assert not list(folder.glob("*.png"))  # no master here: derived files only
        (folder / f"{TEMP_PREFIX}{folder.name}.x.1234-5.tmp").write_bytes(b"half a file")
        (folder / "notes.tmp").write_bytes(b"mine")  # not the sweep's pattern
        (folder / f"{TEMP_PREFIX}kept.txt").write_bytes(b"mine too")  # no .tmp end
    find_project(tmp_path).running_marker.touch()  # as a build killed mid-way leaves it
    assert build(tmp_path) == 0
    for folder in folders:
        left = sorted(p.name for p in folder.iterdir() if "tmp" in p.name)
        assert left == [f"{TEMP_PREFIX}kept.txt", "notes.tmp"], folder
    assert (tmp_path / "assets/ico/hero.ico").exists()
    assert (tmp_path / "assets/meta/hero.webmanifest").exists()
