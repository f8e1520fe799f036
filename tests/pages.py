"""Helpers for the tests of the HTML views: a draft-built example, and a page reader."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from assetgen.build.selection import BuildOptions
from assetgen.commands import project as commands
from assetgen.project import find_project
from tests.conftest import copy_example


def build(root: Path, *, gallery: bool = False, as_json: bool = False, **opts: object) -> str:
    """A draft build of ``root`` through the command function; returns what it printed."""
    out = io.StringIO()
    commands.build(
        find_project(root),
        options=BuildOptions(**opts),  # type: ignore[arg-type]
        provider="draft",
        out=out,
        as_json=as_json,
        gallery=gallery,
    )
    return out.getvalue()


def built_design_system(factory: pytest.TempPathFactory, dest: Path) -> Path:
    """A copy of examples/design-system already built with the draft provider (built once)."""
    base = factory.getbasetemp() / "built-design-system"
    if not (base / "design-system" / "assetgen.lock").is_file():
        copy_example("design-system", base)
        build(base / "design-system")
    target = dest / "design-system"
    shutil.copytree(base / "design-system", target)
    return target


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` with a fixed identity and no user or system configuration."""
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    proc = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


def committed_design_system(factory: pytest.TempPathFactory, dest: Path) -> Path:
    """A built design-system in a sub-folder of a new git repository at ``dest``, committed."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    project = built_design_system(factory, dest)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "assets")
    return project


def edit(manifest: Path, old: str, new: str) -> None:
    text = manifest.read_text()
    assert old in text
    manifest.write_text(text.replace(old, new, 1))


class Page(HTMLParser):
    """The parts of a generated page the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self._script: dict[str, str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if tag == "script":
            self._script = a

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts.append((self._script, data))

    def all(self, tag: str, cls: str | None = None) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.elements
            if t == tag and (cls is None or cls in a.get("class", "").split())
        ]

    @property
    def cards(self) -> list[dict[str, str]]:
        return self.all("li", "card")

    @property
    def data(self) -> list[dict[str, object]]:
        text = next(s for a, s in self.scripts if a.get("id") == "data")
        return json.loads(text)  # type: ignore[no-any-return]

    def assert_self_contained(self) -> None:
        """Nothing is loaded from elsewhere: no external style sheets, scripts or URLs."""
        assert not self.all("link")
        assert all("src" not in a for a, _ in self.scripts)
        for _, attrs in self.elements:
            for key in ("src", "href"):
                value = attrs.get(key, "")
                assert "//" not in value and not value.startswith(("http:", "https:")), attrs
