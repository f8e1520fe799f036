"""Pulled images in pack files: written whole or not at all, read verified, trimmed by gc."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from assetgen.cache import blobpacks
from assetgen.cache.blobpacks import PackIndex, PackWriter, gc_packs, read_packs
from assetgen.cache.recordpacks import RecordPacks
from assetgen.cache.records import replace_record
from assetgen.cache.remote.connect import open_remote
from assetgen.cache.remote.stores import Blob, Kind, RemoteUnavailable, Sink
from assetgen.cache.store import LocalCache
from assetgen.cache.sync import pull_all, push_all
from assetgen.cache.tiered import TieredCache
from assetgen.errors import RemoteCacheError
from assetgen.fsutil import TEMP_PREFIX
from assetgen.lock.model import LockEntry
from tests.cache.remote.test_remote_cache import entries, image, record
from tests.servers import nginx_binary, nginx_server


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def packed(directory: Path, blobs: Iterable[bytes]) -> PackIndex:
    index = PackIndex(directory)
    writer = PackWriter(directory, index)
    for data in blobs:
        writer.add(sha(data), data)
    writer.commit()
    return index


def test_a_pack_reads_back_every_blob(tmp_path: Path) -> None:
    blobs = [image(i, 1000 + i) for i in range(5)]
    index = packed(tmp_path, blobs)
    fresh = PackIndex(tmp_path)  # another process: reads the pack's own index
    for data in blobs:
        assert index.read(sha(data)) == data and fresh.read(sha(data)) == data
    assert fresh.read("00" * 32) is None
    assert [p.endswith(".pack") for p, _ in read_packs(tmp_path)] == [True]


def test_an_uncommitted_pack_is_invisible_and_an_empty_one_leaves_nothing(tmp_path: Path) -> None:
    writer = PackWriter(tmp_path)
    writer.add(sha(image(1)), image(1))
    assert PackIndex(tmp_path).read(sha(image(1))) is None  # still a temp file
    assert [n.startswith(TEMP_PREFIX) for n in os.listdir(tmp_path)] == [True]
    PackWriter(tmp_path).commit()  # nothing added: no file at all
    assert len(os.listdir(tmp_path)) == 1


def test_a_large_pull_rotates_packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ROTATE_BYTES a pack is committed and the next one begun: a kill loses less."""
    monkeypatch.setattr(blobpacks, "ROTATE_BYTES", 2500)
    blobs = [image(i, 1000) for i in range(7)]
    index = packed(tmp_path, blobs)
    assert len(read_packs(tmp_path)) == 3  # 3 + 3 + 1 blobs
    assert all(index.read(sha(d)) == d for d in blobs)
    assert all(PackIndex(tmp_path).read(sha(d)) == d for d in blobs)


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-1],  # truncated trailer
        lambda b: b[:-8] + b"NOTAPACK",  # wrong magic
        lambda b: b[:100] + b[-16:],  # index length past the start
        lambda b: b.replace(b'"', b"'", 1),  # index not JSON
    ],
)
def test_a_file_that_is_not_a_whole_pack_is_skipped_and_gc_removes_it(
    tmp_path: Path, damage: object
) -> None:
    packed(tmp_path, [image(1), image(2)])
    ((path, _),) = read_packs(tmp_path)
    Path(path).write_bytes(damage(Path(path).read_bytes()))  # type: ignore[operator]
    assert read_packs(tmp_path) == [] and PackIndex(tmp_path).read(sha(image(1))) is None
    gc_packs(tmp_path, {sha(image(1))}, PackIndex(tmp_path))
    assert os.listdir(tmp_path) == []


def test_an_index_pointing_outside_its_pack_is_refused(tmp_path: Path) -> None:
    data = image(1, 100)
    index = b'{"%s":[50,100]}' % sha(data).encode()
    (tmp_path / "x.pack").write_bytes(data + index + len(index).to_bytes(8, "big") + b"AGPACK01")
    assert read_packs(tmp_path) == []


def test_gc_sweeps_old_temp_packs_only(tmp_path: Path) -> None:
    """A temp pack an hour old belongs to a killed pull; a fresh one to a running pull."""
    old, new = PackWriter(tmp_path), PackWriter(tmp_path)
    old.add(sha(image(1)), image(1))
    new.add(sha(image(2)), image(2))
    old_tmp = next(p for p in tmp_path.iterdir() if p.name == os.path.basename(old._tmp))
    past = time.time() - 2 * blobpacks.STALE_TEMP_S
    os.utime(old_tmp, (past, past))
    freed = gc_packs(tmp_path, set(), PackIndex(tmp_path))
    assert freed == 4096 and not old_tmp.exists()
    new.commit()  # the running pull finishes undisturbed
    assert PackIndex(tmp_path).read(sha(image(2))) == image(2)


def test_local_cache_reads_packed_blobs_verified(tmp_path: Path) -> None:
    """A damaged packed copy is a miss and is dropped from its pack, so the next pull
    fetches it again; the pack's other blobs stay."""
    cache = LocalCache(tmp_path)
    good, other = image(1), image(2)
    writer = cache.pack_writer()
    writer.add(sha(good), good)
    writer.add(sha(other), other)
    writer.commit()
    assert cache.has_blob(sha(good)) and cache.read_blob(sha(good)) == good
    ((path, _),) = read_packs(tmp_path / "blobpacks")
    raw = bytearray(Path(path).read_bytes())
    raw[10] ^= 0xFF  # inside the first blob
    Path(path).write_bytes(bytes(raw))
    assert LocalCache(tmp_path).read_blob(sha(good)) is None
    assert not LocalCache(tmp_path).has_blob(sha(good))
    assert LocalCache(tmp_path).read_blob(sha(other)) == other
    cache.add_blob(sha(good), good, durable=False)
    assert LocalCache(tmp_path).read_blob(sha(good)) == good


def test_a_damaged_loose_copy_falls_back_to_a_packed_one(tmp_path: Path) -> None:
    cache = LocalCache(tmp_path)
    data = image(1)
    writer = cache.pack_writer()
    writer.add(sha(data), data)
    writer.commit()
    loose = tmp_path / "blobs" / sha(data)[:2] / sha(data)
    loose.parent.mkdir(parents=True)
    loose.write_bytes(b"torn")
    assert cache.read_blob(sha(data)) == data and not loose.exists()


def test_a_reader_keeps_finding_blobs_another_process_repacked(tmp_path: Path) -> None:
    """gc elsewhere rewrote the pack this reader had indexed: no spurious miss; and
    a pack committed elsewhere after this reader's first lookup is found too."""
    blobs = [image(i) for i in range(3)]
    packed(tmp_path / "blobpacks", blobs)
    reader = LocalCache(tmp_path)
    assert reader.read_blob(sha(blobs[0])) == blobs[0]  # index read now
    gc_packs(tmp_path / "blobpacks", {sha(b) for b in blobs[:2]}, PackIndex(tmp_path))
    assert reader.read_blob(sha(blobs[1])) == blobs[1]
    assert reader.read_blob(sha(blobs[2])) is None
    later = image(9)
    packed(tmp_path / "blobpacks", [later])
    assert reader.has_blob(sha(later)) and reader.read_blob(sha(later)) == later


def test_gc_leaves_a_pack_it_cannot_read_just_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreadable pack (EMFILE, EACCES) says nothing about the pack: it stays."""
    packed(tmp_path, [image(1)])

    def unreadable(path: str) -> None:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(blobpacks, "_read_index", unreadable)
    gc_packs(tmp_path, set(), PackIndex(tmp_path))
    monkeypatch.undo()
    assert PackIndex(tmp_path).read(sha(image(1))) == image(1)


def test_a_pack_refuses_adds_once_committed(tmp_path: Path) -> None:
    """A stream still running after ^C cannot write past the index of a committed pack."""
    writer = PackWriter(tmp_path)
    writer.add(sha(image(1)), image(1))
    assert writer.commit() == [sha(image(1))]
    with pytest.raises(blobpacks.PackClosed):
        writer.add(sha(image(2)), image(2))
    assert PackIndex(tmp_path).read(sha(image(1))) == image(1)


def test_records_only_for_images_whose_pack_was_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pack that fails to commit (a full disk) takes its records with it."""
    monkeypatch.setattr(blobpacks, "ROTATE_BYTES", 2 * 4096)  # 2 images a pack
    a = LocalCache(tmp_path / "a")
    locked = entries(a, 5)
    (tmp_path / "shared").mkdir()  # a file:// remote must exist (nothing creates it unasked)
    remote = open_remote((tmp_path / "shared").as_uri())
    push_all(a, remote, locked)
    real_replace, renames = os.replace, []

    def replace(src: str, dst: str) -> None:
        renames.append(dst)
        if len(renames) == 2:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)  # the module blobpacks calls
    b = LocalCache(tmp_path / "b")
    with pytest.raises(OSError, match="No space"):
        pull_all(remote, b, locked, jobs=1)
    monkeypatch.undo()
    fresh = LocalCache(tmp_path / "b")
    readable = [fresh.read_blob(e.sha256) is not None for e in locked]
    recorded = [fresh.record(e.spec_hash) is not None for e in locked]
    # The first pack landed; the second failed at its rename, which stopped the pull.
    assert readable == recorded == [True, True, False, False, False]
    assert pull_all(remote, fresh, locked).copied == 3


def test_gc_and_info_count_packed_blobs(tmp_path: Path) -> None:
    """gc keeps what a kept record names, frees the rest, and a rewritten pack reads back."""
    a = LocalCache(tmp_path / "a")
    locked = entries(a, 6)
    (tmp_path / "shared").mkdir()  # a file:// remote must exist (nothing creates it unasked)
    remote = open_remote((tmp_path / "shared").as_uri())
    push_all(a, remote, locked)
    b = LocalCache(tmp_path / "b")
    assert pull_all(remote, b, locked, jobs=1).copied == 6
    assert not (tmp_path / "b" / "blobs").exists()  # no loose file per image
    assert b.info() == {"entries": 6, "blobs": 6, "bytes": sum(e.bytes for e in locked)}

    keep = {e.spec_hash for e in locked[:2]}
    result = b.gc(keep)
    assert result == {"dropped": 4, "freed_bytes": sum(e.bytes for e in locked[2:])}
    fresh = LocalCache(tmp_path / "b")
    assert [fresh.read_blob(e.sha256) == image(i) for i, e in enumerate(locked)] == [True] * 2 + [
        False
    ] * 4
    assert fresh.info() == {"entries": 2, "blobs": 2, "bytes": sum(e.bytes for e in locked[:2])}
    assert b.read_blob(locked[0].sha256) == image(0)  # the gc'ing process reads the new pack
    remote.close()


class HalfRemote:
    """A remote that hands over the first ``n`` images, then fails like a dropped network."""

    url = "test://half"

    def __init__(self, inner: object, n: int, error: BaseException) -> None:
        self.inner, self.n, self.error = inner, n, error

    def get_each(self, kind: Kind, keys: Iterable[str], sink: Sink, *, jobs: int) -> None:
        for i, key in enumerate(keys):
            if i == self.n:
                raise self.error
            data: Blob | None = self.inner.get(kind, key)  # type: ignore[attr-defined]
            sink(key, data)


@pytest.mark.parametrize("error", [RemoteUnavailable("unreachable"), KeyboardInterrupt()])
def test_a_pull_cut_short_keeps_what_it_fetched(tmp_path: Path, error: BaseException) -> None:
    """What arrived before the failure (or ^C) is committed and recorded; the next pull
    fetches only the rest."""
    a = LocalCache(tmp_path / "a")
    locked: list[LockEntry] = entries(a, 5)
    (tmp_path / "shared").mkdir()  # a file:// remote must exist (nothing creates it unasked)
    remote = open_remote((tmp_path / "shared").as_uri())
    push_all(a, remote, locked)
    b = LocalCache(tmp_path / "b")
    expected = RemoteCacheError if isinstance(error, RemoteUnavailable) else KeyboardInterrupt
    with pytest.raises(
        expected, match="after 3 of 5 images" if expected is RemoteCacheError else None
    ):
        pull_all(HalfRemote(remote, 3, error), b, locked)  # type: ignore[arg-type]
    assert [LocalCache(tmp_path / "b").read_blob(e.sha256) is not None for e in locked] == [
        True
    ] * 3 + [False] * 2
    again = pull_all(remote, LocalCache(tmp_path / "b"), locked)
    assert (again.present, again.copied) == (3, 2)
    remote.close()


def test_a_reader_sees_records_another_process_pulled_since(tmp_path: Path) -> None:
    """Record packs, like blob packs, are looked at again when a lookup misses and
    their directory changed: a long-lived reader sees what a pull wrote since."""
    spec = "sha256:" + "cd" * 32
    reader = LocalCache(tmp_path)
    assert reader.record(spec) is None  # the packs are read now (none yet)
    LocalCache(tmp_path).add_records([record(spec)])
    assert reader.record(spec) == record(spec)


# --- a build's prefetch (TieredCache.prefetch) ------------------------------------------


class CountingRemote:
    """A remote that counts its GETs, one by one or many at once."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.url, self.gets = inner, inner.url, 0

    def get(self, kind: Kind, key: str) -> Blob | None:
        self.gets += 1
        data: Blob | None = self.inner.get(kind, key)
        return data

    def get_each(self, kind: Kind, keys: Iterable[str], sink: Sink, *, jobs: int) -> None:
        for key in keys:
            sink(key, self.get(kind, key))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def pushed(tmp_path: Path, n: int) -> tuple[list[LockEntry], Any]:
    a = LocalCache(tmp_path / "a")
    locked = entries(a, n)
    (tmp_path / "shared").mkdir()  # a file:// remote must exist (nothing creates it unasked)
    remote = open_remote((tmp_path / "shared").as_uri())
    push_all(a, remote, locked)
    return locked, remote


def test_restores_read_what_the_prefetch_fetched_even_when_mtimes_cannot_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prefetch writes through another cache object; the build's cache looks again
    afterwards even on a file system whose timestamps are too coarse to show a change."""
    locked, inner = pushed(tmp_path, 4)
    monkeypatch.setattr(PackIndex, "_stamp", lambda self: 1)
    monkeypatch.setattr(RecordPacks, "_stamp", lambda self: 1)
    remote = CountingRemote(inner)
    cache = TieredCache(LocalCache(tmp_path / "b"), remote, on_warning=lambda message: None)
    assert not any(cache.has_blob(e.sha256) for e in locked)  # indexes read now: empty
    cache.prefetch(locked)
    assert remote.gets == 4
    for i, e in enumerate(locked):
        assert cache.record(e.spec_hash) is not None and cache.read_blob(e.sha256) == image(i)
    assert remote.gets == 4  # all served locally
    cache.close()


def test_a_spec_locked_twice_with_different_facts_is_left_to_the_restores(
    tmp_path: Path,
) -> None:
    """Two assets of one spec, one regenerated since: no record mixing their facts."""
    locked, inner = pushed(tmp_path, 3)
    twin = replace(locked[0], sha256=locked[1].sha256, generated_at="later", path="x.png")
    remote = CountingRemote(inner)
    cache = TieredCache(LocalCache(tmp_path / "b"), remote, on_warning=lambda message: None)
    cache.prefetch([locked[0], twin, locked[2]])
    assert remote.gets == 0  # what is left (one image) is one round trip either way
    cache.prefetch([locked[0], twin, locked[1], locked[2]])
    assert remote.gets == 2 and not LocalCache(tmp_path / "b").has(locked[0].spec_hash)
    cache.close()


def test_a_bad_pipelining_setting_warns_and_restores_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (.ci/run installs Debian's nginx)")
    a = LocalCache(tmp_path / "a")
    locked = entries(a, 3)
    with nginx_server(tmp_path / "nginx") as nginx:
        push_all(a, open_remote(nginx.url), locked)
        monkeypatch.setenv("ASSETGEN_REMOTE_PIPELINE", "0")
        warnings: list[str] = []
        cache = TieredCache(
            LocalCache(tmp_path / "b"), open_remote(nginx.url), on_warning=warnings.append
        )
        cache.prefetch(locked)
        assert len(warnings) == 1 and "ASSETGEN_REMOTE_PIPELINE=0" in warnings[0]
        assert cache.online and cache.read_blob(locked[0].sha256) == image(0)
        cache.close()


def test_a_restore_in_another_format_takes_the_remotes_image(tmp_path: Path) -> None:
    """A pull records only the lock's format; a restore wanting another format the
    remote has as delivered gets that image, not a local re-encode."""
    spec = "sha256:" + "ef" * 32
    png, webp = image(1), image(2)
    (tmp_path / "shared").mkdir()  # a file:// remote must exist (nothing creates it unasked)
    shared = (tmp_path / "shared").as_uri()
    with TieredCache(
        LocalCache(tmp_path / "a"), open_remote(shared), on_warning=lambda m: None
    ) as a:
        a.put(record(spec), {"png": png, "webp": webp}, replace=True)
    b = TieredCache(LocalCache(tmp_path / "b"), open_remote(shared), on_warning=lambda m: None)
    b.add_blob(sha(png), png, durable=False)
    b.add_record(replace_record(record(spec), {"png": (sha(png), len(png))}))
    assert set(b.record(spec).blobs) == {"png"}  # type: ignore[union-attr]
    got = b.record_for(spec, "webp")
    assert got is not None and got.blobs["webp"] == (sha(webp), len(webp))
    assert b.read_blob(sha(webp)) == webp
    b.close()


class BrokenPipelines(CountingRemote):
    """Answers one request at a time, but fails many at once (a proxy that breaks them)."""

    def get_each(self, kind: Kind, keys: Iterable[str], sink: Sink, *, jobs: int) -> None:
        raise RemoteUnavailable("unreachable (ConnectionResetError)")


def test_a_failed_prefetch_leaves_the_remote_on_for_the_restores(tmp_path: Path) -> None:
    """Turning the remote off would make the restores generate, and pay."""
    locked, inner = pushed(tmp_path, 3)
    warnings: list[str] = []
    cache = TieredCache(
        LocalCache(tmp_path / "b"), BrokenPipelines(inner), on_warning=warnings.append
    )
    cache.prefetch(locked)
    assert len(warnings) == 1 and "restoring the rest one by one" in warnings[0]
    assert cache.online
    assert [cache.read_blob(e.sha256) for e in locked] == [image(i) for i in range(3)]
    cache.close()
