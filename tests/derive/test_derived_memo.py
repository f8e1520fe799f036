"""The derived memo's stat signatures: a null plan states each derived file against
the signature its asset's files had when they held the locked bytes, and reads no
stat row or digest for them; any change to a file (gone, rewritten) or to the memo
itself falls back to the per-file plan, which finds what changed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from assetgen import memo, statcache
from assetgen.cli import main
from assetgen.plan.memoized import derived_memo
from assetgen.project import find_project
from assetgen.statcache import StatCache, signature, unchanged_groups

MANIFEST = (
    "version: 1\nprovider: draft\nassets:\n"
    "  hero:\n    prompt: a calm sea\n"
    "    derive:\n      - {output: hero@1x.webp, scale: 0.5}\n"
    "      - {output: og/hero.jpg, width: 120, height: 63}\n"
    "  icon:\n    prompt: a lighthouse\n"
    "    derive:\n      - {output: icon@1x.webp, scale: 0.25}\n"
)
HOUR_AGO = time.time() - 3600


def unchanged(root: str, paths: list[str], sig: object) -> bool:
    return unchanged_groups(root, [("x", [(p, "") for p in paths], sig)]) == {"x"}


def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project built, then every output dated an hour back (not racily fresh), and
    planned twice: the second plan records the signatures."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "assetgen.yaml").write_text(MANIFEST)
    assert main(["-C", str(root), "build"]) == 0
    for path in (root / "assets").rglob("*"):
        if path.is_file():
            os.utime(path, (HOUR_AGO, HOUR_AGO))
    assert main(["-C", str(root), "plan"]) == 0  # stat rows recorded (files rehashed)
    assert main(["-C", str(root), "plan"]) == 0  # signatures recorded
    return root


def memo_value(root: Path) -> dict[str, object]:
    project = find_project(root)
    _, got = derived_memo(
        project.state_file("derived.memo"), project.load_manifest(), project.load_lock()
    )
    return got


def hashed_files(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the stat cache reads to hash, from now on."""
    hashed: list[Path] = []
    real_sha = statcache.sha256_file  # type: ignore[attr-defined]

    def hashing(path: Path) -> str:
        hashed.append(path)
        return real_sha(path)

    monkeypatch.setattr(statcache, "sha256_file", hashing)
    return hashed


def asked_paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path the stat cache is asked a digest for, from now on."""
    asked: list[str] = []
    real = StatCache.digests

    def counting(
        self: StatCache, root: Path | str, paths: object, **kw: bool
    ) -> dict[str, str | None]:
        got = real(self, root, paths, **kw)  # type: ignore[arg-type]
        asked.extend(got)
        return got

    monkeypatch.setattr(StatCache, "digests", counting)
    return asked


def test_a_null_plan_reads_no_digest_of_a_derived_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = built(tmp_path, monkeypatch)
    sigs = memo_value(root)
    assert set(sigs) == {"hero", "icon"}
    assert all(type(s) is bytes and len(s) % 32 == 0 for s in sigs.values())
    asked = asked_paths(monkeypatch)
    assert main(["-C", str(root), "check"]) == 0
    assert sorted(asked) == ["assets/hero.png", "assets/icon.png"]  # masters only


@pytest.mark.parametrize("change", ["rewritten", "deleted", "replaced", "mtime put back"])
def test_a_changed_derived_file_is_found_through_its_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rewritten in place (same size), deleted, or replaced by another file with the
    same bytes and dates (another inode): the plan asks for that asset's digests and
    sees the change; the other asset stays on its signature."""
    root = built(tmp_path, monkeypatch)
    before = memo_value(root)["hero"]
    target = root / "assets/og/hero.jpg"
    data = target.read_bytes()
    if change == "rewritten":
        target.write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])  # mtime now
    elif change == "mtime put back":  # `cp -p`, `touch -r`: only the ctime moves
        st = target.stat()
        target.write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif change == "deleted":
        target.unlink()
    else:  # same bytes, same mtime, new inode: a copy renamed over it
        copy = target.with_name("copy")
        copy.write_bytes(data)
        os.utime(copy, (HOUR_AGO, HOUR_AGO))
        os.replace(copy, target)
    asked = asked_paths(monkeypatch)
    capsys.readouterr()
    rc = main(["-C", str(root), "check"])
    out = capsys.readouterr().out
    assert "assets/og/hero.jpg" in asked and "assets/icon@1x.webp" not in asked
    if change == "replaced":
        assert rc == 0  # the same bytes: nothing to do
        after = memo_value(root)["hero"]  # the new inode's signature, kept for next time
        assert type(after) is bytes and len(after) == 64 and after != before
    else:
        assert rc == 1
        action = "restore" if change == "deleted" else "keep"
        assert f"{action} assets/og/hero.jpg" in out


@pytest.mark.parametrize("bad", [b"", b"x" * 32, 7, None, (1, 2, 3)])
def test_a_damaged_signature_is_no_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: object
) -> None:
    """A memo value that is not these files' signature is planned per file, correctly."""
    root = built(tmp_path, monkeypatch)
    project = find_project(root)
    at = project.state_file("derived.memo")
    key, sigs = derived_memo(at, project.load_manifest(), project.load_lock())
    assert key
    memo.store(at, key, {**sigs, "hero": bad})
    (root / "assets/hero@1x.webp").unlink()
    asked = asked_paths(monkeypatch)
    assert main(["-C", str(root), "check"]) == 1  # the missing file is found
    assert "assets/hero@1x.webp" in asked


def test_signature_and_unchanged_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A signature holds only rows whose digest is the one given, and only a file
    that still stats the same is unchanged by it."""
    (tmp_path / "a").write_bytes(b"one")
    (tmp_path / "b").write_bytes(b"two")
    for name in "ab":
        os.utime(tmp_path / name, (HOUR_AGO, HOUR_AGO))
    stats = StatCache(None)
    got = stats.digests(str(tmp_path), ["a", "b"], derived=True)
    sig = signature(stats, ["a", "b"], [got["a"] or "", got["b"] or ""])
    assert sig is not None and len(sig) == 64
    assert signature(stats, ["a", "b"], [got["a"] or "", "0" * 64]) is None  # not the lock's
    assert unchanged(str(tmp_path), ["a", "b"], sig)
    assert not unchanged(str(tmp_path), ["b", "a"], sig)  # order matters
    assert not unchanged(str(tmp_path), ["a"], sig)  # a file fewer
    assert not unchanged(str(tmp_path), ["a", "b", "a"], sig)  # a file more
    os.utime(tmp_path / "b", (HOUR_AGO + 1, HOUR_AGO + 1))
    assert not unchanged(str(tmp_path), ["a", "b"], sig)
    assert statcache.RACY_NS > 0
    (tmp_path / "c").write_bytes(b"new")  # racily fresh: never in a signature
    got = stats.digests(str(tmp_path), ["c"], derived=True)
    assert signature(stats, ["c"], [got["c"] or ""]) is None


def test_a_derived_plan_reads_as_the_actions_it_stands_for() -> None:
    """Up-to-date assets held as one UpToDate each: iteration, length, indexing,
    equality, counts and changes are those of the flat tuple of actions."""
    from dataclasses import replace

    from assetgen.lock.model import DerivedEntry
    from assetgen.plan.actions import DerivedAction, DerivedPlan, UpToDate, derived_summary
    from tests.derive.test_plan_derived import built as built_entry
    from tests.plan.test_plan import make_spec

    one = DerivedEntry("a@1x.webp", "1" * 64, 10, 2, 2, "sha256:" + "a" * 64)
    two = DerivedEntry("a.jpg", "2" * 64, 11, 3, 3, "sha256:" + "b" * 64)
    entry = replace(built_entry(make_spec())[0], derived=(one, two))
    block = UpToDate("a", (("a@1x.webp", '{"s":1}'), ("a.jpg", '{"s":2}')), entry)
    work = DerivedAction("b", "restore", "b.jpg", "missing", "{}", "sha256:" + "c" * 64)
    plan = DerivedPlan([block, work])
    flat = (
        DerivedAction("a", "noop", "a@1x.webp", "up to date", '{"s":1}', one.recipe, one),
        DerivedAction("a", "noop", "a.jpg", "up to date", '{"s":2}', two.recipe, two),
        work,
    )
    assert plan.changes == (work,) and len(plan) == 3 and bool(plan)
    assert derived_summary(plan) == derived_summary(flat)
    assert tuple(plan) == flat and plan == flat and plan[1] == flat[1] and plan[-1] == work
    assert not DerivedPlan([]) and len(DerivedPlan([block])) == 2


def test_a_null_plan_leaves_the_derived_stat_rows_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Derived files' stat rows live in their own memo, read only when a plan asks a
    derived file's digest; rows of an older stat memo that held them are moved there
    without reading the files again."""
    root = built(tmp_path, monkeypatch)
    state = root / ".assetgen"
    assert (state / "stat-derived.memo").is_file()
    loaded: list[str] = []
    real_load = memo.load

    def rows_of(name: str) -> dict[str, object]:
        got = real_load(state / name, statcache._KEY)
        assert isinstance(got, dict)
        return got

    def loading(path: Path, key: str) -> object:
        loaded.append(path.name)
        return real_load(path, key)

    monkeypatch.setattr(memo, "load", loading)
    assert main(["-C", str(root), "check"]) == 0
    assert "stat.memo" in loaded and "stat-derived.memo" not in loaded
    assert "assetgen.lock.derived.memo" not in loaded  # nor the lock's derived rows
    # The layout before: one stat memo with every row, and a plan that asks them all.
    rows = {**rows_of("stat.memo"), **rows_of("stat-derived.memo")}
    memo.store(state / "stat.memo", statcache._KEY, rows)
    (state / "stat-derived.memo").unlink()
    (state / "assetgen.derived.memo").unlink()
    hashed = hashed_files(monkeypatch)
    assert main(["-C", str(root), "check"]) == 0
    assert hashed == []  # every digest came from a moved row
    assert set(rows_of("stat-derived.memo")) == {
        "assets/hero@1x.webp",
        "assets/og/hero.jpg",
        "assets/icon@1x.webp",
    }
    assert "assets/og/hero.jpg" not in rows_of("stat.memo")


def test_a_manifest_named_stat_keeps_its_memos_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`stat.yaml`'s derived memo is `.assetgen/stat.derived.memo`: the derived stat rows
    are kept elsewhere, so neither overwrites the other and nothing is hashed twice."""
    root = tmp_path / "p"
    root.mkdir()
    (root / "stat.yaml").write_text(MANIFEST)
    args = ["-C", str(root), "-f", "stat.yaml"]
    assert main([*args, "build"]) == 0
    for path in (root / "assets").rglob("*"):
        if path.is_file():
            os.utime(path, (HOUR_AGO, HOUR_AGO))
    (root / "assets/icon@1x.webp").unlink()  # one asset never clean: rows are saved
    for _ in range(2):
        assert main([*args, "plan"]) == 0
    hashed = hashed_files(monkeypatch)
    assert main([*args, "plan"]) == 0
    assert hashed == []
    state = root / ".assetgen"
    assert (state / "stat.derived.memo").is_file() and (state / "stat-derived.memo").is_file()
