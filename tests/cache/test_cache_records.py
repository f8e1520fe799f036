"""Cache records are input from outside: a digest in one never names a file outside the cache.

A record on a shared remote (or a local record, a record pack, a pack index, a
journal row) may carry anything. Each is checked where it is read: a digest that is
not 64 lowercase hex digits, a spec hash not in its ``sha256:`` form, or a size
that is not a sane whole number makes the record corrupt: a warning, the asset is
served from elsewhere or generated, and nothing outside the cache is read, written
or deleted. The lock's sizes come from the bytes actually written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from assetgen.build.journal import Journal
from assetgen.build.orphans import spec_of
from assetgen.cache.blobpacks import PackWriter, read_packs
from assetgen.cache.records import CacheRecord, spec_hex
from assetgen.cache.remote.connect import open_remote
from assetgen.cache.store import LocalCache
from assetgen.cache.tiered import TieredCache
from assetgen.lock.read import read_lock
from tests.build.test_build import build

ONE = """\
version: 1
provider: draft
assets:
  hero:
    prompt: "a city at dawn"
    output: hero.png
"""
SECRET = b"a file outside the project, which no build may touch\n"


def escaping(victim: Path) -> str:
    """A "digest" that, as ``blobs/<sha[:2]>/<sha>``, names ``victim`` from any cache."""
    return "../" * 40 + str(victim).lstrip("/")


def make_victim(tmp_path: Path) -> Path:
    victim = tmp_path / "outside" / "victim"
    victim.parent.mkdir()
    victim.write_bytes(SECRET)
    return victim


def first_build(root: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> dict[str, Any]:
    """Build ``ONE`` in ``root`` pushing to ``url``; returns its lock entry's facts."""
    root.mkdir()
    (root / "assetgen.yaml").write_text(ONE)
    monkeypatch.setenv("ASSETGEN_REMOTE_CACHE", url)
    code, out = build(root)
    assert code == 0, out
    entry = read_lock(root / "assetgen.lock").entries["hero"]
    return {"spec_hash": entry.spec_hash, "sha256": entry.sha256, "bytes": entry.bytes}


def fresh_clone(src: Path, dest: Path) -> Path:
    dest.mkdir()
    for name in ("assetgen.yaml", "assetgen.lock"):
        shutil.copy2(src / name, dest / name)
    return dest


def tamper_remote(remote_dir: Path, spec_hash: str, **changes: Any) -> None:
    path = remote_dir / "ac" / spec_hex(spec_hash)
    doc = json.loads(path.read_bytes())
    doc.update(changes)
    path.write_text(json.dumps(doc))


def assert_built_right(root: Path) -> None:
    """The output is on disk, and the lock states its real digest, size and pixel size."""
    entry = read_lock(root / "assetgen.lock").entries["hero"]
    data = (root / entry.path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry.sha256
    assert entry.bytes == len(data)
    assert (entry.width, entry.height) == (1024, 1024)


def output(root: Path) -> Path:
    return root / read_lock(root / "assetgen.lock").entries["hero"].path


def local_records(root: Path) -> list[bytes]:
    cache = root / ".assetgen" / "cache"
    return [p.read_bytes() for p in cache.rglob("*.json")]


def test_a_remote_record_naming_a_file_outside_the_cache_deletes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh clone's build with a remote record whose blob digest is a path: the file
    survives, a warning, the asset is generated, exit 0; the bad digest is not copied
    into the local cache, so a build with the remote off leaves the file alone too."""
    victim = make_victim(tmp_path)
    remote_dir = tmp_path / "remote"
    remote_dir.mkdir()  # a file:// remote must exist (nothing creates it unasked)
    url = remote_dir.as_uri()
    facts = first_build(tmp_path / "a", monkeypatch, url)
    tamper_remote(remote_dir, facts["spec_hash"], blobs={"png": [escaping(victim), 10]})

    b = fresh_clone(tmp_path / "a", tmp_path / "b")
    (b / ".assetgen" / "cache" / "blobs").mkdir(parents=True)  # it has cached something before
    code, out = build(b)
    err = capsys.readouterr().err
    assert code == 0, out + err
    assert victim.read_bytes() == SECRET
    assert "corrupt record" in out + err and "generating it again" in out + err
    assert_built_right(b)
    assert not any(b"../" in doc for doc in local_records(b))

    output(b).unlink()
    monkeypatch.setenv("ASSETGEN_REMOTE_CACHE", "none")
    code, out = build(b)
    assert code == 0, out
    assert victim.read_bytes() == SECRET
    assert_built_right(b)


@pytest.mark.parametrize("where", ["record file", "record pack"])
def test_a_local_record_naming_a_file_outside_the_cache_deletes_nothing(
    tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same digest in the local cache, as a record file or in a pull's record pack."""
    victim = make_victim(tmp_path)
    root = tmp_path / "p"
    root.mkdir()
    (root / "assetgen.yaml").write_text(ONE)
    assert build(root)[0] == 0
    entry = read_lock(root / "assetgen.lock").entries["hero"]
    cache_dir = root / ".assetgen" / "cache"
    shutil.rmtree(cache_dir / "specs")  # its blobs/ stay: `blobs/..` must exist to climb out
    doc = CacheRecord(entry.spec_hash, 1024, 1024, {}).to_json()
    doc["blobs"] = {"png": [escaping(victim), entry.bytes]}
    if where == "record file":
        h = spec_hex(entry.spec_hash)
        (cache_dir / "specs" / h[:2]).mkdir(parents=True)
        (cache_dir / "specs" / h[:2] / f"{h}.json").write_text(json.dumps(doc))
    else:
        (cache_dir / "packs").mkdir(parents=True)
        (cache_dir / "packs" / "0001.json").write_text(
            json.dumps({"records": {entry.spec_hash: doc}})
        )
    output(root).unlink()

    code, out = build(root)
    err = capsys.readouterr().err
    assert code == 0, out + err
    assert victim.read_bytes() == SECRET
    # The plan already counts a corrupt record as a miss, so it says what the build pays.
    assert "restored hero (generated)" in out and "from cache" not in out.splitlines()[0]
    assert_built_right(root)


def test_the_lock_states_the_image_written_not_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remote record whose pixel size and byte count lie (its digest is right): the
    restore writes the verified bytes, and the lock has their real size."""
    remote_dir = tmp_path / "remote"
    remote_dir.mkdir()  # a file:// remote must exist (nothing creates it unasked)
    facts = first_build(tmp_path / "a", monkeypatch, remote_dir.as_uri())
    tamper_remote(
        remote_dir, facts["spec_hash"], width=7, height=9, blobs={"png": [facts["sha256"], 3]}
    )
    b = fresh_clone(tmp_path / "a", tmp_path / "b")
    code, out = build(b)
    assert code == 0, out
    assert "(cache)" in out or "restored" in out, out  # served from the remote, not generated
    assert_built_right(b)
    assert read_lock(b / "assetgen.lock") == read_lock(tmp_path / "a" / "assetgen.lock")


def good_doc() -> dict[str, Any]:
    return CacheRecord("sha256:" + "ab" * 32, 1024, 768, {"png": ("cd" * 32, 4096)}).to_json()


BAD_RECORDS: dict[str, dict[str, Any]] = {
    "negative size": {"blobs": {"png": ["cd" * 32, -1]}},
    "huge size": {"blobs": {"png": ["cd" * 32, 10**30]}},
    "size as a string": {"blobs": {"png": ["cd" * 32, "4096"]}},
    "digest a path": {"blobs": {"png": ["../../../../tmp/victim", 4096]}},
    "digest upper case": {"blobs": {"png": ["CD" * 32, 4096]}},
    "digest with a newline": {"blobs": {"png": ["cd" * 32 + "\n", 4096]}},
    "format a path": {"blobs": {"../x": ["cd" * 32, 4096]}},
    "spec hash not hex": {"spec_hash": "sha256:" + "zz" * 32},
    "spec hash a path": {"spec_hash": "sha256:../../../../tmp/x"},
    "spec hash without its prefix": {"spec_hash": "ab" * 32},
    "negative width": {"width": -1024},
    "zero height": {"height": 0},
    "huge width": {"width": 10**9},
    "width a bool": {"width": True},
    "width a float": {"width": 1024.5},
    "credits nan": {"credits": float("nan")},
    "credits negative": {"credits": -1.0},
    "task id not a string": {"task_id": {"a": 1}},
    "task id with a path in it": {"task_id": "../../etc/passwd"},
    "task id of 5 MB": {"task_id": "t" * 5_000_000},
}


@pytest.mark.parametrize("change", BAD_RECORDS.values(), ids=list(BAD_RECORDS))
def test_a_record_with_bad_numbers_or_hashes_is_corrupt(change: dict[str, Any]) -> None:
    assert CacheRecord.from_json(good_doc()).width == 1024
    with pytest.raises(ValueError, match=r"its|blob|not"):  # store.CorruptRecord
        CacheRecord.from_json({**good_doc(), **change})


@pytest.mark.parametrize("name", ["negative size", "spec hash not hex", "huge width"])
def test_a_bad_remote_record_is_refused_with_a_warning(tmp_path: Path, name: str) -> None:
    """Refused with one warning, and not copied into the local cache; the remote stays on."""
    spec_hash = "sha256:" + "ab" * 32
    data = b"an image standing in"
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "remote").mkdir()
    remote = open_remote((tmp_path / "remote").as_uri())
    remote.put("cas", sha, data)
    doc = {**CacheRecord(spec_hash, 1024, 1024, {"png": (sha, len(data))}).to_json()}
    doc.update(BAD_RECORDS[name])
    remote.put("ac", spec_hex(spec_hash), json.dumps(doc).encode())
    cache = TieredCache(LocalCache(tmp_path / "local"), remote, on_warning=lambda message: None)
    assert cache.record(spec_hash) is None
    assert len(cache.warnings) == 1 and "corrupt record" in cache.warnings[0], cache.warnings
    assert cache.online
    assert not LocalCache(tmp_path / "local").has(spec_hash)
    cache.close()


def test_a_bad_digest_never_names_a_path(tmp_path: Path) -> None:
    """What the cache is asked about an unchecked digest or spec hash: a miss, no file."""
    victim = make_victim(tmp_path)
    cache = LocalCache(tmp_path / "cache")
    bad = escaping(victim)
    assert cache.read_blob(bad) is None and not cache.has_blob(bad)
    assert not cache.has("sha256:" + bad) and cache.record("sha256:" + bad) is None
    with pytest.raises(ValueError):
        cache.add_blob(bad, SECRET)
    assert victim.read_bytes() == SECRET


def test_a_pack_index_naming_a_path_is_not_a_pack(tmp_path: Path) -> None:
    writer = PackWriter(tmp_path)
    data = b"bytes"
    writer.add("../../../etc/passwd", data)
    writer.commit()
    assert read_packs(tmp_path) == []


def test_a_journal_row_with_a_bad_spec_hash_or_size_is_not_used(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.db")
    request = {
        "provider": "evolink", "model": "m", "prompt": "p", "size": "1:1", "quality": "1K",
        "seed": 1, "nsfw_check": False,
    }  # fmt: skip
    journal.record_task(
        "sha256:../../x", "a", "evolink", "t1", {"request": request, "width": 8, "height": 8}
    )
    journal.record_task(
        "sha256:" + "ab" * 32, "b", "evolink", "t2", {"request": request, "width": -8, "height": 8}
    )
    journal.record_task(
        "sha256:" + "cd" * 32, "c", "evolink", "t3", {"request": request, "width": 8, "height": 8}
    )
    assert [spec_of(t) is not None for t in journal.tasks()] == [False, False, True]
    good = {
        "spec_hash": "sha256:" + "ab" * 32, "request": request, "path": "a.png", "sha256": "cd" * 32,
        "bytes": 10, "width": 8, "height": 8, "format": "png", "task_id": None, "results": [],
        "credits": 0.0, "generated_at": None,
    }  # fmt: skip
    rows = [
        ("ok", good),
        ("bad-sha", {**good, "sha256": "../x"}),
        ("bad-bytes", {**good, "bytes": -5}),
    ]
    for name, row in rows:
        journal.db.execute(
            "INSERT INTO finished VALUES (?, ?, ?, 0)", (name, row["spec_hash"], json.dumps(row))
        )
    journal.db.execute("INSERT INTO finished VALUES ('junk', 'x', '{not json', 0)")
    assert [name for name, _ in journal.finished()] == ["ok"]
    journal.close()


def test_plan_and_build_agree_on_a_corrupt_local_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record that does not read as one (or whose blob is gone) is not "cached" in the
    plan: the plan's estimate is what the build then pays."""
    from assetgen.cli import main

    root = tmp_path / "p"
    root.mkdir()
    (root / "assetgen.yaml").write_text(ONE)
    assert build(root)[0] == 0
    entry = read_lock(root / "assetgen.lock").entries["hero"]
    h = spec_hex(entry.spec_hash)
    record_file = root / ".assetgen" / "cache" / "specs" / h[:2] / f"{h}.json"
    doc = json.loads(record_file.read_text())
    doc["blobs"] = {"png": ["../../x", 7]}
    record_file.write_text(json.dumps(doc))
    output(root).unlink()
    capsys.readouterr()
    assert main(["-C", str(root), "plan", "--json", "--provider", "draft"]) == 0
    (action,) = json.loads(capsys.readouterr().out)["actions"]
    assert action["action"] == "restore" and action["cached"] is False
