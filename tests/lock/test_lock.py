"""assetgen.lock: an exact round trip, small diffs, and located errors for every kind of damage."""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from assetgen import cli
from assetgen.errors import LockfileError
from assetgen.lock.model import (
    HEADER,
    LockEntry,
    Lockfile,
    format_entry,
    format_lock,
    write_lock,
    yaml_str,
)
from assetgen.lock.read import parse_lock, read_lock
from assetgen.schema import yamlpos
from assetgen.schema.shipped import load_schema
from assetgen.spec import spec_hash

SAFE_PATH = re.compile(load_schema("lock")["$defs"]["entry"]["properties"]["path"]["pattern"])


def make_entry(**overrides: Any) -> LockEntry:
    request = {
        "provider": "evolink",
        "model": "krea-2-turbo",
        "prompt": "a city skyline at dawn",
        "size": "16:9",
        "quality": "2K",
        "seed": 1234,
        "nsfw_check": False,
    }
    request.update(overrides.pop("request", {}))
    values: dict[str, Any] = {
        "spec_hash": spec_hash(request),
        "request": request,
        "path": "assets/hero-home.png",
        "sha256": "ab" * 32,
        "bytes": 4_012_345,
        "width": 2688,
        "height": 1472,
        "format": "png",
        "task_id": "task-unified-1757165031-abc",
        "credits": 1.8,
        "generated_at": "2026-11-24T07:00:00Z",
    }
    values.update(overrides)
    return LockEntry(**values)


def round_trip(lock: Lockfile) -> Lockfile:
    return parse_lock(format_lock(lock).encode("utf-8"))


TRICKY = [
    'she said "hello"',
    "it's a 'quote'",
    "line one\nline two\n",
    "  leading spaces",
    "trailing spaces  ",
    "tab\there",
    "naïve café, 東京の夜景",
    "emoji 🚀🎨 and ZWJ 👩‍💻",
    "a # not a comment",
    "# starts like a comment",
    "key: value",
    "ends with a colon:",
    "- looks like a list",
    "[flow, list]",
    "{flow: map}",
    "&anchor *alias !tag",
    "%directive",
    "@at `backtick`",
    "yes",
    "no",
    "on",
    "null",
    "~",
    "true",
    "1e3",
    "0x1F",
    "0o17",
    "1_000",
    "12:30:45",
    "16:9",
    ".inf",
    "-.5",
    "2026-11-24",
    "",
    "back\\slash",
    "bell\x07 nul\x00 del\x7f nel\x85",
    "line\u2028separator\u2029para",
    "bom\ufeff and nonchars \ufffe\uffff",
    "---",
    "...",
]


@pytest.mark.parametrize("text", TRICKY, ids=[repr(t)[:30] for t in TRICKY])
def test_round_trip_keeps_every_string(text: str) -> None:
    """Prompts, paths and task ids come back exactly, whatever characters they hold."""
    entry = make_entry(request={"prompt": text}, task_id=text or None)
    lock = Lockfile({"hero": entry, "1e3": make_entry(), "yes": make_entry()})
    assert round_trip(lock) == lock


@pytest.mark.parametrize("text", TRICKY, ids=[repr(t)[:30] for t in TRICKY])
def test_lock_strings_read_the_same_with_plain_pyyaml(text: str) -> None:
    """Other tools reading the lock with yaml.safe_load see the same strings we do."""
    path = f"{text}.png" if SAFE_PATH.search(f"{text}.png") else "p.png"  # a path is an image
    lock = Lockfile({"hero": make_entry(request={"prompt": text}, path=path)})
    doc = yaml.safe_load(format_lock(lock))
    assert doc["assets"]["hero"]["request"]["prompt"] == text
    assert doc["assets"]["hero"]["path"] == path


names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
texts = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
entries = st.builds(
    make_entry,
    request=st.fixed_dictionaries(
        {"prompt": texts, "seed": st.integers(1, 1_048_576), "nsfw_check": st.booleans()}
    ),
    path=texts.map(lambda p: f"{p}.png").filter(lambda p: SAFE_PATH.search(p) is not None),
    task_id=st.none() | texts.filter(bool),
    credits=st.sampled_from([0.0, 0.45, 1.8, 2.25, 1e16, 123456.789]),
    bytes=st.integers(0, 2**40),
    generated_at=st.none() | st.just("2026-11-24T07:00:00Z"),
)


@given(st.dictionaries(names, entries, max_size=4))
def test_round_trip_property(assets: dict[str, LockEntry]) -> None:
    """parse_lock(format_lock(lock)) == lock for any entries, and plain PyYAML agrees."""
    lock = Lockfile(assets)
    assert round_trip(lock) == lock
    doc = yaml.safe_load(format_lock(lock))
    assert sorted(doc["assets"] or {}) == sorted(assets)
    for name, entry in assets.items():
        assert doc["assets"][name]["request"]["prompt"] == entry.request["prompt"]
        assert doc["assets"][name]["path"] == entry.path


@given(st.text(st.characters(blacklist_categories=["Cs"]), max_size=30))
def test_yaml_str_reads_back(text: str) -> None:
    """yaml_str gives a scalar that both our loader and PyYAML read as the same string."""
    line = f"k: {yaml_str(text)}\n"
    assert yaml.safe_load(line) == {"k": text}
    assert yamlpos.load(line.encode(), "probe")[0] == {"k": text}


def test_written_text_is_sorted_and_stable() -> None:
    """Assets are written sorted by name, in one fixed layout, whatever the insertion order."""
    lock = Lockfile({n: make_entry(path=f"assets/{n}.png") for n in ["zeta", "alpha", "mid-1"]})
    text = format_lock(lock)
    assert text.startswith(HEADER)
    assert re.findall(r"^  (\S+):$", text, re.M) == ["alpha", "mid-1", "zeta"]
    reordered = Lockfile(dict(reversed(list(lock.entries.items()))))
    assert format_lock(reordered) == text


def test_empty_lock_round_trips() -> None:
    """A lock with no assets is written as `assets: {}` and read back empty."""
    assert "assets: {}\n" in format_lock(Lockfile())
    assert round_trip(Lockfile()) == Lockfile()


def _changed_lines(old: str, new: str) -> list[str]:
    diff = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---"))]


BIG = {f"asset-{i:03d}": make_entry(path=f"assets/asset-{i:03d}.png") for i in range(50)}


@pytest.mark.parametrize(
    "change",
    [
        {"request": {"prompt": "a different prompt"}},
        {"sha256": "cd" * 32, "bytes": 1},
        {"path": "assets/moved/asset-020.png"},
        {"task_id": None, "generated_at": None},
    ],
)
def test_changing_one_asset_changes_only_its_lines(change: dict[str, Any]) -> None:
    """A change to one asset touches only that asset's block: small, mergeable diffs."""
    new_entry = make_entry(**{"path": "assets/asset-020.png", **change})
    old = format_lock(Lockfile(BIG))
    new = format_lock(Lockfile({**BIG, "asset-020": new_entry}))
    block = set(format_entry("asset-020", BIG["asset-020"]).splitlines())
    block |= set(format_entry("asset-020", new_entry).splitlines())
    changed = _changed_lines(old, new)
    assert changed
    assert all(line[1:] in block for line in changed), changed


def test_adding_and_removing_an_asset_touch_only_its_lines() -> None:
    """Adding an asset only adds its lines; removing it only removes them."""
    old = format_lock(Lockfile(BIG))
    added = format_lock(Lockfile({**BIG, "asset-0205": make_entry()}))
    assert all(line.startswith("+") for line in _changed_lines(old, added))
    removed = format_lock(Lockfile({k: v for k, v in BIG.items() if k != "asset-007"}))
    changed = _changed_lines(old, removed)
    assert all(line.startswith("-") for line in changed)
    assert len(changed) == len(format_entry("asset-007", BIG["asset-007"]).splitlines())


GOOD = format_lock(Lockfile({"hero": make_entry()}))


def _line_of(text: str, needle: str) -> int:
    """The line of the last occurrence of ``needle`` (where a duplicate shows up)."""
    return max(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("broken", "position", "message"),
    [
        (
            GOOD.replace("    bytes:", "   bytes:"),
            "10:4",
            "YAML syntax error: did not find expected key",
        ),
        (
            GOOD.replace("request: {", "request: {{"),
            "8:5",
            "(while parsing a flow mapping at line 7)",
        ),
        (GOOD + "  hero:\n    path: x\n", "17:3", "duplicate key `hero` (first defined at line 5)"),
        (
            GOOD.replace("version: 1\n", "version: 1\nversion: 1\n", 1),
            "3:1",
            "duplicate key `version`",
        ),
    ],
    ids=["indentation", "flow", "duplicate-asset", "duplicate-version"],
)
def test_corrupt_yaml_names_the_line(broken: str, position: str, message: str) -> None:
    """A lock that is not valid YAML raises LockfileError naming file:line:col and the problem."""
    with pytest.raises(LockfileError) as info:
        parse_lock(broken.encode())
    text = str(info.value)
    assert text.startswith(f"assetgen.lock:{position}: "), text
    assert message in text
    assert "hint: restore assetgen.lock from git" in text


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "    bytes: 4012345",
            "    bytes: lots",
            'assets.hero.bytes must be an integer, not the string "lots"',
        ),
        ("    width: 2688", "    width: 0", "assets.hero.width is 0, below the minimum 1"),
        ("    sha256: " + "ab" * 32, "    sha256: nothex", "assets.hero.sha256"),
        (
            "    format: png",
            "    format: gif",
            'assets.hero.format must be one of "png", "jpeg", "webp"',
        ),
        (
            "    credits: 1.8",
            "    credits: 1.8\n    colour: red",
            "unknown key `colour` in assets.hero",
        ),
        ("  hero:", "  Hero:", "invalid name `Hero` in assets"),
        ("seed: 1234", "seed: x", "assets.hero.request.seed must be an integer"),
    ],
)
def test_schema_invalid_lock_names_the_line(old: str, new: str, message: str) -> None:
    """A lock that is YAML but not an assetgen lock names the line and column of the problem."""
    assert old in GOOD
    broken = GOOD.replace(old, new)
    with pytest.raises(LockfileError) as info:
        parse_lock(broken.encode())
    text = str(info.value)
    line = _line_of(broken, new.splitlines()[-1].split(":")[0])
    assert text.startswith(f"assetgen.lock:{line}:"), text
    assert message in text


def test_missing_assets_key_is_reported() -> None:
    """A lock without `assets` is reported, with the hint to restore or delete it."""
    with pytest.raises(LockfileError, match=r"assetgen\.lock:\d+:\d+: .*`assets`"):
        parse_lock(b"version: 1\n")


@pytest.mark.parametrize("document", [b"- a\n- b\n", b"just text\n", b"42\n"])
def test_not_a_mapping_is_reported(document: bytes) -> None:
    """A lock that is not a mapping is refused with a position and a way out."""
    with pytest.raises(LockfileError, match=r"^assetgen\.lock:1:1: not an assetgen lock"):
        parse_lock(document)


@pytest.mark.parametrize("key", ["version", "hash_version"])
def test_newer_lock_asks_for_a_newer_assetgen(key: str) -> None:
    """A lock from a newer assetgen is refused, not rebuilt over: upgrade instead."""
    text = GOOD.replace(f"\n{key}: 1\n", f"\n{key}: 2\n")
    with pytest.raises(LockfileError) as info:
        parse_lock(text.encode())
    message = str(info.value)
    assert f"assetgen.lock:{_line_of(text, f'{key}: 2')}:" in message
    assert "newer assetgen" in message
    assert "pip install -U assetgen-cli" in message


def test_git_conflict_markers_are_located() -> None:
    """Conflict markers are reported at their line, with how to get out of it."""
    ours = GOOD.replace("seed: 1234", "seed: 1")
    theirs = GOOD.replace("seed: 1234", "seed: 2")
    lines = GOOD.splitlines(keepends=True)
    i = _line_of(GOOD, "request:") - 1
    conflicted = "".join(
        [
            *lines[:i],
            "<<<<<<< HEAD\n",
            ours.splitlines(keepends=True)[i],
            "=======\n",
            theirs.splitlines(keepends=True)[i],
            ">>>>>>> feature\n",
            *lines[i + 1 :],
        ]
    )
    with pytest.raises(LockfileError) as info:
        parse_lock(conflicted.encode())
    message = str(info.value)
    assert message.startswith(f"assetgen.lock:{i + 1}:1: the lock has git conflict markers")
    assert "hint:" in message and "assetgen build" in message


def test_conflict_marker_text_inside_a_prompt_is_not_a_conflict() -> None:
    """`<<<<<<<` inside a quoted prompt is just text."""
    lock = Lockfile({"hero": make_entry(request={"prompt": "<<<<<<< arrows >>>>>>>"})})
    assert round_trip(lock) == lock


def test_credits_are_written_as_numbers() -> None:
    """Credits round to 6 places and always read back as numbers (never as `1e+16` strings)."""
    for value in (0.0, 0.45, 1.8, 2.0, 1e16, 1e-7, 0.1 + 0.2):
        lock = Lockfile({"a": make_entry(credits=value)})
        assert round_trip(lock).entries["a"].credits == pytest.approx(round(value, 6))
        assert isinstance(yaml.safe_load(format_lock(lock))["assets"]["a"]["credits"], float)


def test_write_lock_is_atomic_and_skips_identical_bytes(tmp_path: Path) -> None:
    """write_lock writes once, then reports no change for the same lock; no temp files remain."""
    path = tmp_path / "assetgen.lock"
    lock = Lockfile({"hero": make_entry()})
    assert write_lock(path, lock) is True
    mtime = path.stat().st_mtime_ns
    assert write_lock(path, lock) is False
    assert path.stat().st_mtime_ns == mtime
    assert read_lock(path) == lock
    assert [p.name for p in tmp_path.iterdir()] == ["assetgen.lock"]


def test_read_lock_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    """No lock yet means an empty one, not an error."""
    assert read_lock(tmp_path / "assetgen.lock") == Lockfile()


def test_read_lock_memo_gives_the_same_lock(tmp_path: Path) -> None:
    """The memoised parse returns exactly what parsing returns, and notices a changed file."""
    path, memo = tmp_path / "assetgen.lock", tmp_path / "lock.memo"
    lock = Lockfile({"hero": make_entry(), "logo": make_entry(task_id="t-1")})
    write_lock(path, lock)
    assert read_lock(path, memo) == lock
    assert memo.exists()
    assert read_lock(path, memo) == lock
    changed = Lockfile({"hero": dataclasses.replace(make_entry(), bytes=1)})
    path.write_text(format_lock(changed), encoding="utf-8")
    assert read_lock(path, memo) == changed


MANIFEST = b"version: 1\nprovider: draft\nassets:\n  hero:\n    prompt: a city skyline at dawn\n"


@pytest.mark.parametrize(
    ("lock_text", "located"),
    [
        ("version: 1\nassets:\n  hero: [\n", r"assetgen\.lock:4:1: YAML syntax error"),
        (
            "version: 1\nassets:\n  hero:\n    path: 7\n",
            r"assetgen\.lock:4:5: assets\.hero is missing",
        ),
        ("version: 9\nassets: {}\n", r"assetgen\.lock:1:10: lock version 9 was written by a newer"),
        ("<<<<<<< HEAD\nversion: 1\n", r"assetgen\.lock:1:1: the lock has git conflict markers"),
    ],
    ids=["syntax", "schema", "newer", "conflict"],
)
def test_plan_on_a_corrupt_lock_exits_2(
    lock_text: str, located: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`assetgen plan` with a damaged lock exits 2 with the located message, and keeps the lock."""
    (tmp_path / "assetgen.yaml").write_bytes(MANIFEST)
    (tmp_path / "assetgen.lock").write_text(lock_text, encoding="utf-8")
    code = cli.main(["-C", str(tmp_path), "plan"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert re.search(r"^" + located, err, re.M), err
    assert (tmp_path / "assetgen.lock").read_text(encoding="utf-8") == lock_text
