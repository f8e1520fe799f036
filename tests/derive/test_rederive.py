"""`build --rederive NAME`: a hand-edited derived file made again from the master as it
is, for free (no generation, the master untouched), unlike `--force`."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from assetgen import find_project
from assetgen.build.selection import BuildOptions, plan_selection
from assetgen.cache.open import project_cache
from assetgen.cli import main
from assetgen.commands import project as commands
from assetgen.plan import render
from tests.conftest import RecordingProvider
from tests.derive.test_build_derive import check, project


def build_with(root: Path, provider: RecordingProvider, **opts: object) -> int:
    return commands.build(
        find_project(root),
        options=BuildOptions(**opts),  # type: ignore[arg-type]
        provider="draft",
        out=io.StringIO(),
        provider_factory=lambda name: provider,
    )


def edited(root: Path) -> tuple[Path, bytes, bytes]:
    """A built project whose og/hero.jpg is edited by hand: (path, derived bytes, edit)."""
    assert build_with(root, RecordingProvider()) == 0
    target = root / "assets/og/hero.jpg"
    derived = target.read_bytes()
    Image.new("RGB", (600, 315), "red").save(target)
    return target, derived, target.read_bytes()


def test_rederive_restores_an_edited_file_and_never_touches_the_master(tmp_path: Path) -> None:
    """The plan has no asset work, only the restore; the build calls no provider."""
    root = project(tmp_path)
    target, derived, _ = edited(root)
    master = root / "assets/hero.png"
    master_bytes, master_mtime = master.read_bytes(), master.stat().st_mtime_ns
    proj = find_project(root)
    manifest = proj.load_manifest("draft", remember=False)
    cache = project_cache(proj, manifest, push=False)
    options = BuildOptions(rederive=("hero",))
    plan = plan_selection(proj, manifest, proj.load_lock(), cache, options)
    assert plan.work == ()
    assert [(d.path, d.action) for d in plan.derived_work] == [("assets/og/hero.jpg", "restore")]
    provider = RecordingProvider()
    assert build_with(root, provider, rederive=("hero",)) == 0
    assert sum(provider.calls.values()) == 0
    assert target.read_bytes() == derived
    assert master.read_bytes() == master_bytes and master.stat().st_mtime_ns == master_mtime
    assert check(root) == 0


def test_force_by_contrast_calls_the_provider(tmp_path: Path) -> None:
    """What --rederive avoids: --force NAME on an unchanged spec generates the master again."""
    root = project(tmp_path)
    edited(root)
    provider = RecordingProvider()
    assert build_with(root, provider, force=True, selection=("hero",)) == 0
    assert provider.calls["hero"] == 1


def test_rederive_takes_globs_on_the_command_line(tmp_path: Path) -> None:
    """`--rederive GLOB` (repeatable) from the CLI; a glob matching nothing is exit 2."""
    root = project(tmp_path)
    target, derived, _ = edited(root)
    assert main(["-C", str(root), "build", "--rederive", "nothing*", "--provider", "draft"]) == 2
    args = ["build", "--rederive", "he*", "--rederive", "hero", "--provider", "draft"]
    assert main(["-C", str(root), *args]) == 0
    assert target.read_bytes() == derived


def test_the_kept_hint_names_rederive(tmp_path: Path) -> None:
    """plan and build point at the free way, from one constant."""
    from assetgen.build.adopt import derived_notice

    root = project(tmp_path)
    edited(root)
    out = io.StringIO()
    commands.plan(find_project(root), out=out)
    assert render.DERIVED_KEPT_HINT in out.getvalue() and "--rederive" in out.getvalue()
    proj = find_project(root)
    manifest = proj.load_manifest("draft", remember=False)
    cache = project_cache(proj, manifest, push=False)
    plan = plan_selection(proj, manifest, proj.load_lock(), cache, BuildOptions())
    notice = derived_notice(plan)
    assert notice is not None and notice.endswith(render.DERIVED_KEPT_HINT)
    assert "--force" not in render.DERIVED_KEPT_HINT


def test_a_gone_recipe_of_an_edited_file_is_forgotten_by_build(tmp_path: Path) -> None:
    """The recipe of a hand-edited file is removed: the plan says forget, the build
    drops its record from the lock and leaves the edited file as it is; check is then
    clean, and a foreign file is never deleted."""
    from tests.pages import edit

    root = project(tmp_path)
    target, _, edit_bytes = edited(root)
    edit(
        root / "assetgen.yaml", '      - {output: "og/${name}.jpg", width: 600, height: 315}\n', ""
    )
    out = io.StringIO()
    assert commands.plan(find_project(root), check=True, out=out) == 1
    assert "forget assets/og/hero.jpg" in out.getvalue()
    assert build_with(root, RecordingProvider()) == 0
    assert target.read_bytes() == edit_bytes
    lock = find_project(root).load_lock()
    assert "assets/og/hero.jpg" not in {d.path for d in lock.entries["hero"].derived}
    assert check(root) == 0
