"""The fast reader of canonical locks gives exactly what the YAML reader gives, or steps aside."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assetgen.errors import LockfileError
from assetgen.lock.fast import parse_canonical
from assetgen.lock.model import LockEntry, Lockfile, format_lock
from assetgen.lock.read import parse_lock
from assetgen.schema.shipped import load_schema

texts = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40
)
SAFE_PATH = re.compile(load_schema("lock")["$defs"]["entry"]["properties"]["path"]["pattern"])
names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,12}", fullmatch=True)
entries = st.builds(
    LockEntry,
    spec_hash=st.just("sha256:" + "a" * 64),
    request=st.fixed_dictionaries(
        {
            "provider": st.sampled_from(["evolink", "draft"]),
            "model": st.just("krea-2-turbo"),
            "prompt": texts,
            "size": st.sampled_from(["1:1", "16:9", "2:1"]),
            "quality": st.sampled_from(["1K", "2K"]),
            "seed": st.integers(1, 1_048_576),
            "nsfw_check": st.booleans(),
        }
    ),
    path=texts.map(lambda p: f"{p}.png").filter(lambda p: SAFE_PATH.search(p) is not None),
    sha256=st.just("b" * 64),
    bytes=st.integers(0, 10**9),
    width=st.integers(1, 5000),
    height=st.integers(1, 5000),
    format=st.sampled_from([None, "png", "jpeg", "webp"]),
    task_id=st.one_of(st.none(), texts.filter(bool)),
    credits=st.floats(0, 10**6, allow_nan=False).map(lambda c: round(c, 6)),
    generated_at=st.one_of(st.none(), st.just("2026-11-24T07:00:00Z"), texts.filter(bool)),
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(names, entries, max_size=4))
def test_fast_reader_agrees_with_yaml(assets: dict[str, LockEntry]) -> None:
    """For any lock assetgen writes, the fast reader and the YAML reader return equal locks."""
    text = format_lock(Lockfile(assets))
    fast = parse_canonical(text)
    assert fast is not None
    assert fast == parse_lock(text.encode())


def test_hand_edited_lock_is_left_to_the_yaml_reader() -> None:
    """A lock not in the canonical layout (here, reindented) is not read by the fast path."""
    entry = LockEntry("sha256:" + "a" * 64, {"provider": "draft", "model": "krea-2-turbo", "prompt": "p",
                      "size": "1:1", "quality": "1K", "seed": 5, "nsfw_check": False},
                      "assets/a.png", "b" * 64, 10, 1024, 1024)  # fmt: skip
    text = format_lock(Lockfile({"a": entry}))
    assert parse_canonical(text) is not None
    edited = text.replace("    seed", "    seed").replace("  a:\n", "  a:   \n")
    assert parse_canonical(edited) is None
    assert parse_canonical(text.replace("seed: 5", "seed: 0x5")) is None
    assert parse_lock(edited.encode()) == parse_lock(text.encode())


def test_a_digest_yaml_would_read_as_a_number_round_trips_through_both_readers() -> None:
    """A hex digest of digits only (or digits around one `e`) is a number to YAML: the
    writer quotes it, so both readers read the string back; written bare (by hand),
    both refuse it rather than one reading a string and the other a number."""
    from assetgen.lock.model import DerivedEntry

    for sha in ("1" * 64, "1" * 30 + "e" + "1" * 33):
        entry = LockEntry(
            spec_hash="sha256:" + "a" * 64,
            request={
                "provider": "draft",
                "model": "krea-2-turbo",
                "prompt": "p",
                "size": "1:1",
                "quality": "1K",
                "seed": 1,
                "nsfw_check": False,
            },
            path="a.png",
            sha256=sha,
            bytes=1,
            width=1,
            height=1,
            derived=(DerivedEntry("a@1x.webp", sha, 1, 1, 1, "sha256:" + "c" * 64),),
        )
        text = format_lock(Lockfile({"a": entry}))
        full = parse_lock(text.encode())
        assert full.entries["a"].sha256 == sha and full.entries["a"].derived[0].sha256 == sha
        fast = parse_canonical(text)
        assert fast is None or fast.entries["a"] == full.entries["a"]
        bare = text.replace(f'"{sha}"', sha)
        assert bare != text
        assert parse_canonical(bare) is None  # not the canonical layout: the YAML reader's
        with pytest.raises(LockfileError, match="sha256"):
            parse_lock(bare.encode())
