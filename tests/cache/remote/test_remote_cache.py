"""The tiered cache against real remotes: a directory, nginx's WebDAV, and moto's S3."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assetgen import cli
from assetgen.cache.open import open_cache
from assetgen.cache.records import CacheRecord, spec_hex
from assetgen.cache.remote.connect import open_remote
from assetgen.cache.remote.http import HttpRemote
from assetgen.cache.remote.stores import FileRemote, remote_timeout
from assetgen.cache.store import LocalCache
from assetgen.cache.sync import pull_all, push_all
from assetgen.cache.tiered import TieredCache
from assetgen.errors import RemoteCacheError, UsageError
from assetgen.lock.model import LockEntry
from assetgen.project import Project
from tests.conftest import copy_example
from tests.servers import (
    BACKENDS,
    Backend,
    have_moto,
    moto_server,
    nginx_binary,
    nginx_server,
    remote_backend,
)

SPEC = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def moto() -> Iterator[Any]:
    """One moto server for the module (it starts in about half a second); a bucket per test."""
    if not have_moto():
        yield None
        return
    with moto_server() as server:
        yield server


@pytest.fixture(params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Backend]:
    with remote_backend(
        request.param, tmp_path, lambda: request.getfixturevalue("moto"), monkeypatch.setenv
    ) as backend:
        yield backend


def image(n: int, size: int = 4096) -> bytes:
    """Distinct bytes standing in for an image: the cache only cares about their digest."""
    seed = hashlib.sha256(str(n).encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def record(spec_hash: str = SPEC, **facts: Any) -> CacheRecord:
    return CacheRecord(spec_hash, 1024, 1024, {}, task_id="task-1", credits=0.45, **facts)


def tiered(root: Path, url: str, **kwargs: Any) -> TieredCache:
    """A tiered cache whose warnings are only collected (in ``.warnings``), not printed."""
    return TieredCache(
        LocalCache(root), open_remote(url), on_warning=lambda message: None, **kwargs
    )


def test_a_fresh_clone_is_served_from_the_remote(tmp_path: Path, backend: Backend) -> None:
    """What A generated, B (empty local cache) has, reads verified, and keeps locally."""
    data = image(1)
    with tiered(tmp_path / "a", backend.url) as a:
        stored = a.put(record(), {"png": data}, replace=True)
    assert a.pushed == 1 and a.warnings == []

    b = tiered(tmp_path / "b", backend.url)
    assert not LocalCache(tmp_path / "b").has(SPEC)
    assert b.has(SPEC)
    got = b.record(SPEC)
    assert got == stored and got.task_id == "task-1"
    sha = got.blobs["png"][0]
    assert b.read_blob(sha) == data
    b.close()
    # Copied into B's local directory: served with the remote gone.
    backend.stop()
    local_b = LocalCache(tmp_path / "b")
    assert local_b.record(SPEC) == stored and local_b.read_blob(sha) == data
    assert b.warnings == []


def test_a_corrupt_remote_blob_is_a_miss_and_a_warning(tmp_path: Path, backend: Backend) -> None:
    """Bytes that do not match their digest are never served nor kept; the remote stays on."""
    with tiered(tmp_path / "a", backend.url) as a:
        sha = a.put(record(), {"png": image(2)}, replace=True).blobs["png"][0]
    raw = open_remote(backend.url)
    raw.put("cas", sha, b"truncated or tampered")
    raw.close()

    b = tiered(tmp_path / "b", backend.url)
    assert b.read_blob(sha) is None
    assert b.record(SPEC) is None  # its only image is bad: nothing to serve
    assert not LocalCache(tmp_path / "b").has_blob(sha)
    assert b.online and b.warnings and all("does not match" in w for w in b.warnings)
    b.close()


def test_a_remote_down_is_one_warning_and_the_local_cache(tmp_path: Path, backend: Backend) -> None:
    """Stopped remote: no exception, one warning line, local reads and writes go on."""
    with tiered(tmp_path / "a", backend.url) as a:
        sha = a.put(record(), {"png": image(3)}, replace=True).blobs["png"][0]
    backend.stop()
    b = tiered(tmp_path / "b", backend.url)
    assert b.record(SPEC) is None and b.read_blob(sha) is None
    assert not b.has("sha256:" + "cd" * 32)
    stored = b.put(record("sha256:" + "ef" * 32), {"png": image(4)}, replace=True)
    b.close()
    assert not b.online
    assert len(b.warnings) == 1, b.warnings
    assert b.warnings[0].startswith(f"remote cache {backend.url.split('@')[-1]}")
    assert b.warnings[0].endswith("; continuing with the local cache only")
    assert LocalCache(tmp_path / "b").record(stored.spec_hash) == stored
    assert b.pushed == 0


def test_a_remote_that_goes_down_after_a_build_started(tmp_path: Path, backend: Backend) -> None:
    """Uploads pending when the remote stops end in the one warning, and close() returns."""
    a = tiered(tmp_path / "a", backend.url)
    a.put(record(), {"png": image(5)}, replace=True)
    a.flush()
    backend.stop()
    for n in range(6, 10):
        a.put(record(f"sha256:{n:064x}"), {"png": image(n)}, replace=True)
    a.close()
    assert a.pushed == 1 and len(a.warnings) == 1 and not a.online
    assert all(LocalCache(tmp_path / "a").has(f"sha256:{n:064x}") for n in range(6, 10))


def test_no_push_reads_but_never_writes(tmp_path: Path, backend: Backend) -> None:
    """push=False (build --no-push) still reads the remote, and uploads nothing."""
    with tiered(tmp_path / "a", backend.url, push=False) as a:
        a.put(record(), {"png": image(11)}, replace=True)
    assert a.pushed == 0
    b = tiered(tmp_path / "b", backend.url)
    assert not b.has(SPEC)
    b.close()


def entries(cache: LocalCache, n: int, start: int = 0) -> list[LockEntry]:
    """Put ``n`` images in ``cache`` and return the lock entries that name them."""
    out = []
    for i in range(start, start + n):
        spec = f"sha256:{i:064x}"
        data = image(i)
        rec = cache.put(record(spec), {"png": data}, replace=True)
        sha, size = rec.blobs["png"]
        request = {"provider": "draft", "model": "m", "prompt": str(i), "size": "1:1",
                   "quality": "1K", "seed": i, "nsfw_check": False}  # fmt: skip
        out.append(
            LockEntry(spec, request, f"assets/{i}.png", sha, size, 1024, 1024, "png", "task-1")
        )
    return out


def test_push_all_then_pull_all(tmp_path: Path, backend: Backend) -> None:
    """Push sends what the remote lacks; pull fetches what the local cache lacks, verified."""
    a = LocalCache(tmp_path / "a")
    locked = entries(a, 12)
    remote = open_remote(backend.url)
    first = push_all(a, remote, locked[:8], jobs=4)
    assert (first.copied, first.present, first.missing) == (8, 0, 0)
    again = push_all(a, remote, locked, jobs=4)
    assert (again.copied, again.present) == (4, 8)

    b = LocalCache(tmp_path / "b")
    pulled = pull_all(remote, b, locked, jobs=4)
    assert (pulled.copied, pulled.present, pulled.missing) == (12, 0, 0)
    assert pulled.bytes == sum(e.bytes for e in locked)
    for e in locked:
        assert b.read_blob(e.sha256) == image(int(e.spec_hash[-8:], 16))
        got = b.record(e.spec_hash)
        assert got is not None and got.blobs == {"png": (e.sha256, e.bytes)}
    assert pull_all(remote, b, locked).present == 12

    not_pushed = entries(LocalCache(tmp_path / "c"), 2, start=100)
    assert pull_all(remote, LocalCache(tmp_path / "d"), not_pushed).missing == 2
    remote.close()


def test_push_and_pull_fail_when_the_remote_is_down(tmp_path: Path, backend: Backend) -> None:
    """An explicit push or pull against a stopped remote is an error, not a warning."""
    a = LocalCache(tmp_path / "a")
    locked = entries(a, 3)
    backend.stop()
    remote = open_remote(backend.url)
    with pytest.raises(RemoteCacheError, match="stopped after 0 of 3"):
        pull_all(remote, LocalCache(tmp_path / "b"), locked)
    with pytest.raises(RemoteCacheError) as err:
        push_all(a, remote, locked)
    assert err.value.exit_code == 1
    remote.close()


def test_has_many_asks_the_remote_once_per_spec(tmp_path: Path, backend: Backend) -> None:
    """has_many answers for many specs at once; has() then answers from memory."""
    with tiered(tmp_path / "a", backend.url) as a:
        for n in range(5):
            a.put(record(f"sha256:{n:064x}"), {"png": image(n)}, replace=True)
    b = tiered(tmp_path / "b", backend.url)
    specs = [f"sha256:{n:064x}" for n in range(8)]
    assert b.has_many(specs, jobs=4) == set(specs[:5])
    backend.stop()
    assert [b.has(s) for s in specs] == [True] * 5 + [False] * 3
    assert b.warnings == []
    b.close()


class SlowRemote:
    """A remote whose HEADs take a round trip's time, noting how many are in flight."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.url = inner, inner.url
        self.heads: list[str] = []
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()

    def exists(self, kind: Any, key: str) -> bool:
        with self._lock:
            self.heads.append(key)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(0.02)
        try:
            return bool(self.inner.exists(kind, key))
        finally:
            with self._lock:
                self.in_flight -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_fresh_clones_plan_asks_the_remote_about_every_asset_at_once(tmp_path: Path) -> None:
    """Not one round trip per asset in turn: the plan looks ahead (has_many), then answers."""
    (tmp_path / "shared").mkdir()  # a file:// remote must exist: nothing creates it unasked
    shared = (tmp_path / "shared").as_uri()
    a = copy_example("design-system", tmp_path / "a", derive=False)
    env = {**os.environ, "ASSETGEN_REMOTE_CACHE": shared}
    build = [sys.executable, "-m", "assetgen", "-C", str(a), "build", "--provider", "draft"]
    subprocess.run(build, env=env, check=True, capture_output=True)
    b = tmp_path / "b"
    b.mkdir()
    for name in ("assetgen.yaml", "assetgen.lock"):
        shutil.copy2(a / name, b / name)

    project = Project(b, b / "assetgen.yaml")
    lock = project.load_lock()
    remote = SlowRemote(open_remote(shared))
    cache = TieredCache(
        LocalCache(project.state_dir / "cache"), remote, on_warning=lambda message: None
    )
    plan = project.plan(
        project.load_manifest("draft"), lock, cache.has, lookahead=cache.lookahead()
    )
    cache.close()
    assert [a.action for a in plan.actions] == ["restore"] * len(lock.entries)
    assert all(a.cached for a in plan.actions) and plan.credits == 0
    assert sorted(remote.heads) == sorted(spec_hex(e.spec_hash) for e in lock.entries.values())
    assert remote.most_in_flight > 1


def test_the_lookahead_plans_exactly_what_the_plain_plan_does(tmp_path: Path) -> None:
    """Two passes, one plan: the same actions, forced ones included (even when ``force``
    is a generator, which the first pass must not use up)."""
    a = copy_example("quickstart", tmp_path)
    subprocess.run(
        [sys.executable, "-m", "assetgen", "-C", str(a), "build", "--provider", "draft"],
        check=True,
        capture_output=True,
    )
    project = Project(a, a / "assetgen.yaml")
    manifest, lock = project.load_manifest("draft"), project.load_lock()
    (a / lock.entries[manifest.specs[1].name].path).unlink()  # a restore, which asks the cache
    forced = [manifest.specs[0].name]
    cache = LocalCache(project.state_dir / "cache")
    asked: list[list[str]] = []

    def lookahead(spec_hashes: list[str]) -> set[str]:
        asked.append(spec_hashes)
        return {h for h in spec_hashes if cache.has(h)}

    plain = project.plan(manifest, lock, cache.has, force=forced)
    ahead = project.plan(manifest, lock, cache.has, force=iter(forced), lookahead=lookahead)
    assert [(x.name, x.action, x.cached) for x in ahead.actions] == [
        (x.name, x.action, x.cached) for x in plain.actions
    ]
    assert {x.action for x in ahead.actions} >= {"update", "restore", "noop"}
    assert len(asked) == 1 and len(asked[0]) == 1  # the restore (forced: never the cache)


# --- HTTP specifics -------------------------------------------------------------------


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Any]:
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (.ci/run installs Debian's nginx)")
    with nginx_server(tmp_path / "nginx") as server:
        yield server


def test_http_layout_is_bazels(tmp_path: Path, nginx: Any) -> None:
    """Objects land at <base>/cas/<sha256> and <base>/ac/<spec hex>, the record as JSON."""
    with tiered(tmp_path / "a", nginx.url) as a:
        sha = a.put(record(), {"png": image(20)}, replace=True).blobs["png"][0]
    assert (nginx.store / "cas" / sha).read_bytes() == image(20)
    doc = json.loads((nginx.store / "ac" / SPEC.split(":")[1]).read_bytes())
    assert doc["spec_hash"] == SPEC and doc["blobs"] == {"png": [sha, 4096]}


def test_a_read_only_remote_serves_reads_and_warns_once_about_uploads(
    tmp_path: Path, nginx: Any
) -> None:
    """PUT refused (405): reading goes on, pushing stops after one warning."""
    with tiered(tmp_path / "a", nginx.url) as a:
        a.put(record(), {"png": image(21)}, replace=True)
    b = tiered(tmp_path / "b", nginx.readonly_url)
    assert b.record(SPEC) is not None
    for n in range(3):
        b.put(record(f"sha256:{n:064x}"), {"png": image(n)}, replace=True)
    b.close()
    assert b.online and b.pushed == 0
    assert len(b.warnings) == 1 and "upload refused (HTTP 405 on PUT)" in b.warnings[0]


def test_a_file_remote_shares_the_http_layout(tmp_path: Path, nginx: Any) -> None:
    """nginx can serve a file:// remote's directory as it is: one layout for both."""
    with tiered(tmp_path / "a", nginx.store.as_uri()) as a:
        a.put(record(), {"png": image(22)}, replace=True)
    b = tiered(tmp_path / "b", nginx.url)
    assert b.record(SPEC) is not None
    b.close()


def test_http_credentials_stay_out_of_messages(tmp_path: Path) -> None:
    """User info in the URL authenticates but never shows in the URL messages use."""
    remote = HttpRemote("http://ci:s3cret@127.0.0.1:9/cache")
    assert remote.url == "http://127.0.0.1:9/cache"
    remote.close()


# --- opening a remote -------------------------------------------------------------------


def test_open_remote_picks_a_backend_by_scheme(tmp_path: Path) -> None:
    """file:// and http(s):// open; an unknown scheme is a usage error with the known ones."""
    assert isinstance(open_remote(tmp_path.as_uri()), FileRemote)
    assert isinstance(open_remote("https://cache.example/assetgen"), HttpRemote)
    with pytest.raises(UsageError, match="unknown scheme `gs`"):
        open_remote("gs://bucket/x")


def test_s3_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """s3:// with s3fs missing: a usage error naming the extra."""
    monkeypatch.setitem(sys.modules, "s3fs", None)  # what an absent package looks like
    with pytest.raises(UsageError, match=r"pip install 'assetgen-cli\[s3\]'"):
        open_remote("s3://bucket/prefix")


def test_the_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """ASSETGEN_REMOTE_TIMEOUT sets the connect timeout; nonsense is a usage error."""
    monkeypatch.setenv("ASSETGEN_REMOTE_TIMEOUT", "0.5")
    assert remote_timeout() == 0.5
    monkeypatch.setenv("ASSETGEN_REMOTE_TIMEOUT", "soon")
    with pytest.raises(UsageError, match="ASSETGEN_REMOTE_TIMEOUT"):
        remote_timeout()


def test_open_cache_reads_the_remote_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No remote argument: $ASSETGEN_REMOTE_CACHE decides; "" turns the remote off."""
    project = Project(tmp_path, tmp_path / "assetgen.yaml")
    monkeypatch.delenv("ASSETGEN_REMOTE_CACHE", raising=False)
    assert type(open_cache(project)) is LocalCache
    monkeypatch.setenv("ASSETGEN_REMOTE_CACHE", (tmp_path / "shared").as_uri())
    cache = open_cache(project, push=False)
    assert isinstance(cache, TieredCache) and cache.root == tmp_path / ".assetgen" / "cache"
    assert type(open_cache(project, "")) is LocalCache
    cache.close()


def test_a_pull_packs_its_records_and_gc_trims_the_pack(tmp_path: Path) -> None:
    """Pulled records go to one pack file, which has/record/info/gc treat as records."""
    shared = tmp_path / "shared"
    shared.mkdir()  # a file:// remote must exist (nothing creates it unasked)
    a = LocalCache(tmp_path / "a")
    locked = entries(a, 4)
    remote = open_remote(shared.as_uri())
    push_all(a, remote, locked)
    b = LocalCache(tmp_path / "b")
    assert pull_all(remote, b, locked).copied == 4
    assert len(list((tmp_path / "b" / "packs").iterdir())) == 1
    assert not (tmp_path / "b" / "specs").exists()  # no record file per image
    assert all(b.has(e.spec_hash) for e in locked)
    assert b.info()["entries"] == 4 and b.info()["blobs"] == 4

    keep = {locked[0].spec_hash, locked[1].spec_hash}
    assert b.gc(keep)["dropped"] == 2
    fresh = LocalCache(tmp_path / "b")
    assert [fresh.has(e.spec_hash) for e in locked] == [True, True, False, False]
    assert fresh.read_blob(locked[2].sha256) is None and fresh.read_blob(locked[0].sha256)

    # A record file (a new generation here) takes precedence over the packed record.
    newer = fresh.put(
        record(locked[0].spec_hash, generated_at="later"), {"png": image(99)}, replace=True
    )
    assert LocalCache(tmp_path / "b").record(locked[0].spec_hash) == newer
    assert fresh.info()["entries"] == 2
    remote.close()


def test_netrc_credentials_only_for_their_own_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A netrc `default` entry is never sent to a remote it does not name."""
    from assetgen.cache.remote.http import _credentials

    rc = tmp_path / "netrc"
    rc.write_text(
        "machine cache.example.com login ci password s3cret\ndefault login me password x\n"
    )
    rc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(rc))
    assert _credentials("cache.example.com", None, None) == ("ci", "s3cret")
    assert _credentials("elsewhere.example.com", None, None) is None


def test_none_in_the_environment_turns_the_remote_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assetgen.cache.open import project_cache
    from assetgen.project import find_project
    from assetgen.spec import Manifest

    monkeypatch.setenv("ASSETGEN_REMOTE_CACHE", "none")
    project = find_project(tmp_path)
    manifest = Manifest("draft", "assets", (), remote_cache=f"file://{tmp_path}/remote")
    assert type(project_cache(project, manifest, push=False)) is LocalCache
    assert type(open_cache(project)) is LocalCache
    monkeypatch.delenv("ASSETGEN_REMOTE_CACHE")
    assert type(project_cache(project, manifest, push=False)) is not LocalCache


def test_a_bad_url_in_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assetgen.cache.open import project_cache
    from assetgen.project import find_project

    monkeypatch.setenv("ASSETGEN_REMOTE_CACHE", "gopher://cache.example.com/x")
    with pytest.raises(UsageError, match=r"^ASSETGEN_REMOTE_CACHE: .*unknown scheme `gopher`"):
        project_cache(find_project(tmp_path), None, push=False)


@pytest.mark.parametrize("url", ["https://[::1:1/x", "https://user:pw@[::1:1/x"])
def test_a_malformed_url_in_the_environment_is_a_usage_error(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unclosed IPv6 bracket is a usage error naming the variable (no ValueError
    traceback), and the user info of the malformed URL is not shown."""
    from assetgen.cache.open import project_cache
    from assetgen.project import find_project

    monkeypatch.setenv("ASSETGEN_REMOTE_CACHE", url)
    with pytest.raises(UsageError, match=r"^ASSETGEN_REMOTE_CACHE: .*not a valid URL") as info:
        project_cache(find_project(tmp_path), None, push=False)
    assert "pw" not in str(info.value)


def test_a_file_remote_that_does_not_exist_is_never_created_unasked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A share that is not mounted does not quietly become a local folder: push fails and
    says how to create it; `cache push --mkdir` creates it; a build warns and goes on."""
    project = copy_example("quickstart", tmp_path / "p")
    share = tmp_path / "mnt" / "team-cache"
    env = {"ASSETGEN_REMOTE_CACHE": share.as_uri()}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        assert cli.main(["-C", str(project), "build", "--provider", "draft"]) == 0
        err = capsys.readouterr().err
        assert "does not exist" in err and "--mkdir" in err
        assert cli.main(["-C", str(project), "cache", "push"]) == 1
        out = capsys.readouterr()
        assert "does not exist" in out.out + out.err
        assert not (tmp_path / "mnt").exists()
        assert cli.main(["-C", str(project), "cache", "push", "--mkdir"]) == 0
        assert "pushed 4 images" in capsys.readouterr().out
        assert len(list((share / "ac").iterdir())) == 4


def test_gc_older_than_keeps_what_the_lock_names_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cache gc --older-than` drops only old entries the lock does not name; with
    --include-locked, old locked ones too."""
    project = copy_example("quickstart", tmp_path / "p")
    assert cli.main(["-C", str(project), "build", "--provider", "draft"]) == 0
    cache = LocalCache(project / ".assetgen" / "cache")
    extra = cache.put(record("sha256:" + "ab" * 32), {"png": image(7)})
    old = time.time() - 10 * 86400
    for path, _ in cache.iter_records():
        os.utime(path, (old, old))
    capsys.readouterr()
    assert cli.main(["-C", str(project), "cache", "gc", "--older-than", "1d"]) == 0
    assert "dropped 1 entries" in capsys.readouterr().out
    fresh = LocalCache(project / ".assetgen" / "cache")
    assert not fresh.has(extra.spec_hash) and fresh.info()["entries"] == 4
    assert cli.main(["-C", str(project), "cache", "gc", "--include-locked"]) == 2
    assert "needs --older-than" in capsys.readouterr().err
    assert (
        cli.main(["-C", str(project), "cache", "gc", "--older-than", "1d", "--include-locked"]) == 0
    )
    assert LocalCache(project / ".assetgen" / "cache").info()["entries"] == 0
