"""Shared fixtures: projects copied from examples/, and providers that count their calls."""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from assetgen.errors import PermanentProviderError
from assetgen.providers.base import Generated, JobContext
from assetgen.spec import AssetSpec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees a real key, a shared cache or colour settings from the outside."""
    for var in (
        "EVOLINK_API_KEY",
        "EVOLINK_BASE_URL",
        "ASSETGEN_CACHE_DIR",
        "ASSETGEN_REMOTE_CACHE",
        "ASSETGEN_REMOTE_TIMEOUT",
        "ASSETGEN_REMOTE_PIPELINE",
        "FORCE_COLOR",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


def copy_example(name: str, dest: Path, *, derive: bool = True) -> Path:
    """A fresh copy of ``examples/NAME`` (no outputs, lock or state) in ``dest``.

    ``derive=False`` leaves out its derived files (the ``presets:`` block and every
    ``derive:`` list, line by line, the rest byte for byte): the design system's 222
    derived files take 16 s of a 20 s draft build, which tests of other promises
    would pay on every build. Derive's own tests use the whole example."""
    target = dest / name
    shutil.copytree(
        EXAMPLES / name, target, ignore=shutil.ignore_patterns("assets", "*.lock", ".assetgen")
    )
    if not derive:
        manifest = target / "assetgen.yaml"
        text = _PRESETS.sub("\n", manifest.read_text())
        text = _DERIVE.sub("\n", text)
        assert not re.search(r"^ *(derive|presets):", text, re.M), "the example's layout changed"
        manifest.write_text(text)
    return target


_PRESETS = re.compile(r"\npresets:\n(?:  .*\n)+")
_DERIVE = re.compile(r"\n    derive:(?: \[.*\])?\n(?:      .*\n)*")


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    return copy_example("quickstart", tmp_path)


@pytest.fixture
def design_system(tmp_path: Path) -> Path:
    """examples/design-system without its derived files (see copy_example)."""
    return copy_example("design-system", tmp_path, derive=False)


class RecordingProvider:
    """The draft renderer, counting calls per asset; can be told to fail or misbehave."""

    name = "draft"
    remote = False

    def __init__(
        self, fail: dict[str, str] | None = None, wrong_size: set[str] | None = None
    ) -> None:
        from assetgen.providers.draft import DraftProvider

        self.inner = DraftProvider()
        self.calls: Counter[str] = Counter()
        self.fail = fail or {}
        self.wrong_size = wrong_size or set()

    async def generate(self, spec: AssetSpec, ctx: JobContext) -> Generated:
        self.calls[spec.name] += 1
        if spec.name in self.fail:
            raise PermanentProviderError(self.fail[spec.name], asset=spec.name, provider=self.name)
        if spec.name in self.wrong_size:
            from dataclasses import replace

            from assetgen.providers.draft import render_draft

            return Generated(render_draft(replace(spec, width=spec.width // 2)))
        return await self.inner.generate(spec, ctx)

    async def aclose(self) -> None:
        await self.inner.aclose()


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root (outside .assetgen/) -> (size, mtime_ns)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".assetgen"]
        for f in filenames:
            p = Path(dirpath) / f
            st = p.stat()
            out[str(p.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out
