"""A lock is read as hostile input: its requests must hash to their spec hashes, and the
fast and the full reader accept exactly the same locks (issue 11, findings 6, 8 and 9)."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from assetgen import memo
from assetgen.cli import main
from assetgen.errors import LockfileError
from assetgen.lock import model as lockmod
from assetgen.lock import read as lockread
from assetgen.lock.fast import parse_canonical
from assetgen.lock.model import LockEntry, Lockfile, format_lock, updated
from assetgen.lock.read import parse_lock, read_lock
from assetgen.spec import HASH_VERSION, spec_hash


def entry(prompt: str = "a red fox", seed: int = 7, **overrides: object) -> LockEntry:
    request = {"provider": "draft", "model": "krea-2-turbo", "prompt": prompt, "size": "1:1",
               "quality": "1K", "seed": seed, "nsfw_check": False}  # fmt: skip
    values: dict[str, object] = dict(
        spec_hash=spec_hash(request), request=request, path=f"assets/{seed}.png",
        sha256="b" * 64, bytes=1234, width=1024, height=1024, format="png",
        task_id="task-1", credits=0.45, generated_at="2026-11-24T07:00:00Z",
    )  # fmt: skip
    values.update(overrides)
    return LockEntry(**values)  # type: ignore[arg-type]


CANONICAL = format_lock(Lockfile({"fox": entry(), "owl": entry("an owl", 9)}))


def built(tmp_path: Path, quickstart: Path) -> Path:
    assert main(["-C", str(quickstart), "build", "--provider", "draft"]) == 0
    return quickstart / "assetgen.lock"


# --- finding 8: a request edited by hand ---------------------------------------------------


def test_an_edited_request_is_a_located_error_not_no_changes(
    tmp_path: Path, quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A prompt edited in the lock (spec_hash left alone) made plan say "No changes", so the
    lock recorded a prompt never sent. Now plan exits 2 naming the line, the asset and the fix."""
    lock_path = built(tmp_path, quickstart)
    text = lock_path.read_text(encoding="utf-8")
    lock_path.write_text(text.replace("a city skyline at dawn", "a prompt never sent"), "utf-8")
    capsys.readouterr()
    assert main(["-C", str(quickstart), "plan", "--provider", "draft"]) == 2
    err = capsys.readouterr().err
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "skyline" in t)
    assert re.search(
        rf"assetgen\.lock:{line}:\d+: asset `hero-home`: the request does not hash", err
    )
    assert "git checkout -- assetgen.lock" in err
    assert "Traceback" not in err
    assert main(["-C", str(quickstart), "check", "--provider", "draft"]) == 2  # and again: no memo


def test_a_lock_is_verified_once_then_read_from_its_memo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check costs one hash per entry when the lock's bytes are new, none after: the memo,
    keyed by the bytes, holds only verified locks."""
    path, memo_path = tmp_path / "assetgen.lock", tmp_path / "lock.memo"
    path.write_text(CANONICAL, encoding="utf-8")
    first = read_lock(path, memo_path)

    def no_second_check(entries: object) -> list[str]:
        raise AssertionError("verified again")

    monkeypatch.setattr(lockread, "mismatched", no_second_check)
    assert read_lock(path, memo_path) == first
    path.write_text(CANONICAL.replace("a red fox", "a blue fox"), encoding="utf-8")
    with pytest.raises(AssertionError, match="verified again"):  # new bytes: checked again
        read_lock(path, memo_path)


def test_an_invalid_lock_is_never_memoised(tmp_path: Path) -> None:
    """A refused lock leaves no memo behind that a later read could trust."""
    path, memo_path = tmp_path / "assetgen.lock", tmp_path / "lock.memo"
    path.write_text(CANONICAL.replace("a red fox", "a blue fox"), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(LockfileError, match="does not hash"):
            read_lock(path, memo_path)
    assert not memo_path.exists()


def test_a_partial_build_keeps_an_older_hash_version_until_every_entry_is_current() -> None:
    """A lock of an older hash version plans as updates; writing some of them must not stamp
    the current version on entries still hashed the old way (the next read would refuse)."""
    stale = dataclasses.replace(entry("an owl", 9), spec_hash="sha256:" + "c" * 64)
    old = Lockfile({"fox": entry(), "owl": stale}, hash_version=HASH_VERSION - 1)
    assert updated(old, {"fox": entry()}).hash_version == HASH_VERSION - 1
    assert updated(old, {"owl": entry("an owl", 9)}).hash_version == HASH_VERSION
    assert updated(old, {"owl": None}).hash_version == HASH_VERSION


# --- finding 8: the fast and the full reader agree -------------------------------------------

BAD_VALUES = [
    ("credits: 0.45", "credits: nan"),
    ("credits: 0.45", "credits: inf"),
    ("credits: 0.45", "credits: .nan"),
    ("credits: 0.45", "credits: .inf"),
    ("credits: 0.45", "credits: -0.45"),
    ("credits: 0.45", "credits: 1" + "0" * 400 + ".0"),
    ("bytes: 1234", "bytes: -1234"),
    ("width: 1024", "width: 0"),
    ("height: 1024", "height: -5"),
    ("bytes: 1234", "bytes: " + "9" * 30),
    ("bytes: 1234", "bytes: " + "9" * 5000),
    ("seed: 7", "seed: " + "9" * 5000),
    ("hash_version: 1", "hash_version: 2"),
    ("hash_version: 1", "hash_version: 0"),
    ("hash_version: 1", "hash_version: " + "9" * 5000),
    ("sha256: " + "b" * 64, "sha256: " + "B" * 64),
    ("sha256: " + "b" * 64, "sha256: " + "b" * 63),
    ("sha256: " + "b" * 64, 'sha256: "' + "b" * 64 + '\\n"'),
    ("spec_hash: sha256:", "spec_hash: sha1:"),
    ("format: png", "format: gif"),
    ("  fox:", "  Fox:"),
]


@pytest.mark.parametrize(("old", "new"), BAD_VALUES)
def test_both_readers_refuse_the_same_bad_values(tmp_path: Path, old: str, new: str) -> None:
    """NaN or negative credits, negative sizes, an unknown hash_version, 4,300+ digit
    numbers, digests that are not 64 lowercase hex: the fast reader steps aside and the full
    one refuses with a located LockfileError (exit 2), never a traceback."""
    assert old in CANONICAL
    text = CANONICAL.replace(old, new, 1)
    assert parse_canonical(text) is None
    with pytest.raises(LockfileError) as exc:
        parse_lock(text.encode("utf-8"))
    assert exc.value.exit_code == 2
    assert re.match(r"assetgen\.lock:\d+:\d+: ", str(exc.value))
    path = tmp_path / "assetgen.lock"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LockfileError):
        read_lock(path, tmp_path / "lock.memo")


TRICKY = ["nan", "inf", "-inf", ".nan", "-.inf", "-1", "-1.0", "0", "0.0", "1", "2", "1.5",
          "1e3", "1_000", "+5", "01", "true", "null", "~", '""', "9" * 30, "9" * 5000,
          "B" * 64, "b" * 63, "b" * 64, "sha256:" + "b" * 64, "png", "gif", "[]", "{}"]  # fmt: skip
MUTATIONS = st.one_of(
    st.sampled_from(TRICKY),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\n\r"), max_size=12),
)
KEYS = ["hash_version", "spec_hash", "sha256", "bytes", "width", "height", "format", "credits",
        "seed", "prompt", "nsfw_check", "version", "task_id", "generated_at"]  # fmt: skip


def mutate(text: str, key: str, value: str, nth: int) -> str:
    """``text`` with the value of the ``nth`` occurrence of ``key`` replaced by ``value``."""
    pattern = re.compile(rf"(?m)(^ *|[{{,] ){key}: ([^,}}\n]*)")
    hits = list(pattern.finditer(text))
    m = hits[nth % len(hits)]
    return text[: m.start(2)] + value + text[m.end(2) :]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(KEYS), MUTATIONS, st.integers(0, 1))
@example("credits", "nan", 0)
@example("bytes", "-5", 0)
@example("hash_version", "2", 0)
@example("credits", "-1.0", 1)
def test_fast_and_full_reader_accept_exactly_the_same_locks(key: str, value: str, nth: int) -> None:
    """Any one value of a canonical lock mutated: the fast reader either returns what the full
    reader returns, or steps aside; the full reader either accepts or raises LockfileError."""
    text = mutate(CANONICAL, key, value, nth)
    fast = parse_canonical(text)
    try:
        full: Lockfile | None = parse_lock(text.encode("utf-8"))
    except LockfileError:
        full = None
    if fast is not None:
        assert full is not None, f"fast reader accepted what the full one refused:\n{text}"
        assert fast == full
    if full is not None:
        for e in full.entries.values():
            assert math.isfinite(e.credits) and e.credits >= 0
            assert e.bytes >= 0 and e.width >= 1 and e.height >= 1
        assert 1 <= full.hash_version <= HASH_VERSION


# --- finding 6: a lock that is a directory -----------------------------------------------------


def test_a_lock_that_is_a_directory_is_exit_2(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`assetgen.lock` a directory was a traceback (exit 3); now a message and exit 2."""
    (quickstart / "assetgen.lock").mkdir()
    assert main(["-C", str(quickstart), "plan", "--provider", "draft"]) == 2
    err = capsys.readouterr().err
    assert "assetgen.lock: is a directory" in err and "Traceback" not in err


# --- credits never NaN in a lock entry -------------------------------------------------------


@pytest.mark.parametrize("credits", [math.nan, math.inf, -1.0])
def test_a_lock_entry_never_holds_bad_credits(credits: float) -> None:
    """Wherever credits come from (gateway, cache record, journal), a LockEntry refuses them."""
    with pytest.raises(ValueError, match="credits"):
        entry(credits=credits)


# --- finding 9: memos keyed by their row layout ------------------------------------------------


def test_the_layout_digest_changes_when_two_fields_swap() -> None:
    """Reordering two fields changes the digest every memo key holds (no manual bump needed)."""

    @dataclasses.dataclass
    class A:
        size: str
        quality: str

    @dataclasses.dataclass
    class B:
        quality: str
        size: str

    B.__qualname__ = A.__qualname__
    assert memo.layout(A) != memo.layout(B)
    assert memo.layout(A) == memo.layout(A)


def test_a_lock_memo_of_another_layout_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A memo written by code whose LockEntry had width and height the other way round is
    rebuilt, never read back with the two swapped."""
    path, memo_path = tmp_path / "assetgen.lock", tmp_path / "lock.memo"
    lock = Lockfile({"fox": entry(width=1024, height=768)})
    path.write_text(format_lock(lock), encoding="utf-8")
    real = LockEntry.to_tuple

    def swapped(self: LockEntry) -> tuple[object, ...]:
        row = list(real(self))
        at = [f.name for f in dataclasses.fields(LockEntry)]
        w, h = at.index("width"), at.index("height")
        row[w], row[h] = row[h], row[w]
        return tuple(row)

    with monkeypatch.context() as m:  # the other build of assetgen writes its memo
        m.setattr(LockEntry, "to_tuple", swapped)
        m.setattr(lockmod, "_LAYOUT", "another-layout", raising=False)
        lockmod.write_lock(path, lock, memo_path)
    got = read_lock(path, memo_path).entries["fox"]
    assert (got.width, got.height) == (1024, 768)


MANIFEST = """\
version: 1
provider: draft
assets:
  hero:
    prompt: "a city skyline"
    size: "16:9"
    quality: 2K
  icon:
    prompt: "an icon"
"""


@pytest.mark.parametrize("edit", ["", "  extra:\n    prompt: new\n"])
def test_a_manifest_memo_of_another_layout_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    """Memos written by code whose AssetSpec had `size` and `quality` the other way round
    (no manual format bump) made plan read size "2K", quality "16:9". The memo keys hold the
    field layout: both the whole-manifest memo and the block memo (an edit) are rebuilt."""
    from assetgen.manifest import memo as manifest_memo
    from assetgen.manifest.resolve import parse_manifest

    def parse(data: bytes, origins: dict[str, list[str]] | None) -> object:
        return parse_manifest(data, "assetgen.yaml", origins=origins)

    state = tmp_path / "m."
    fields = list(manifest_memo._SPEC_FIELDS)
    i, j = fields.index("size"), fields.index("quality")
    fields[i], fields[j] = fields[j], fields[i]
    with monkeypatch.context() as m:  # the other build of assetgen fills the memos
        m.setattr(manifest_memo, "_SPEC_FIELDS", tuple(fields))
        m.setattr(manifest_memo, "_LAYOUT", "another-layout", raising=False)
        manifest_memo.load_manifest(MANIFEST.encode(), parse, None, state)  # type: ignore[arg-type]
    text = MANIFEST + edit
    got = manifest_memo.load_manifest(text.encode(), parse, None, state)  # type: ignore[arg-type]
    assert got == parse(text.encode(), None)
    hero = next(s for s in got.specs if s.name == "hero")
    assert (hero.size, hero.quality) == ("16:9", "2K")


# --- finding 6: numbers of 4,300+ digits ----------------------------------------------------


def test_a_seed_of_5000_digits_in_the_manifest_is_a_located_error(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """int() refuses 4,300+ digits with a ValueError: that was a traceback (exit 3)."""
    manifest = quickstart / "assetgen.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("seed: 1234", "seed: " + "9" * 5000), encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "seed: 1234" in t)
    for command in ("validate", "plan"):
        assert main(["-C", str(quickstart), command]) == 2
        err = capsys.readouterr().err
        assert f"assetgen.yaml:{line}:11: a number of 5,000 characters is too long" in err
        assert "Traceback" not in err and len(err) < 500


@pytest.mark.parametrize("credits", ["NaN", "Infinity", "-1.5"])
def test_a_cache_record_with_bad_credits_is_corrupt(tmp_path: Path, credits: str) -> None:
    """A record (local or from a shared remote) saying `"credits": NaN` is refused as corrupt
    (ValueError, which every reader of records treats as such), so it never becomes a lock entry."""
    import json

    from assetgen.cache.records import CacheRecord

    text = json.dumps(
        {"spec_hash": "sha256:" + "a" * 64, "width": 8, "height": 8,
         "blobs": {"png": ["b" * 64, 10]}, "credits": 0.5}
    ).replace("0.5", credits)  # fmt: skip
    with pytest.raises(ValueError, match="credits"):
        CacheRecord.from_json(json.loads(text))
