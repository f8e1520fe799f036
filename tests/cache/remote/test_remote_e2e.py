"""A team's remote cache end to end: real builds against the EvoLink emulator and a real remote.

Clone A builds and pushes; a fresh clone B, with an empty local cache, plans every
asset as cached and builds without a single submit; a remote that stops in the
middle of a build costs a warning, never the build. Then what needs the CLI
wiring: ``--no-push``, ``cache: {remote: URL}`` in the manifest, ``cache push|pull``,
sharded builds assembled by a final plain build, and the merge driver's commands.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assetgen.lock.read import read_lock
from tests.servers import BACKENDS, Backend, have_moto, moto_server, remote_backend

emulator = pytest.importorskip("assetgen.emulator", reason="needs the emulator extra")
pytest.importorskip("uvicorn")

FAST = {
    "ASSETGEN_EVOLINK_POLL_INTERVAL": "0.05",
    "ASSETGEN_EVOLINK_MAX_POLL_INTERVAL": "0.2",
    "ASSETGEN_EVOLINK_FIRST_POLL_MAX": "0.05",
    "ASSETGEN_EVOLINK_TASK_DEADLINE": "60",
    "ASSETGEN_EVOLINK_BACKOFF_BASE": "0.05",
}


@pytest.fixture(scope="module")
def moto() -> Iterator[Any]:
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


@pytest.fixture
def emu() -> Iterator[Any]:
    with emulator.run_emulator(latency=0.2, seed=1) as e:
        yield e


def project(root: Path, n: int) -> Path:
    """A manifest of ``n`` small 1K assets."""
    root.mkdir(parents=True)
    topics = ", ".join(f"t{i:02d}" for i in range(n))
    (root / "assetgen.yaml").write_text(
        "version: 1\nprovider: evolink\nassets:\n"
        "  icon-${topic}:\n"
        f"    matrix: {{topic: [{topics}]}}\n"
        '    prompt: "a flat icon for ${topic}"\n',
        encoding="utf-8",
    )
    return root


def clone(src: Path, dest: Path) -> Path:
    """What a fresh git clone has: the manifest and the lock, no images, no .assetgen/."""
    dest.mkdir(parents=True)
    for name in ("assetgen.yaml", "assetgen.lock"):
        if (src / name).exists():
            shutil.copy2(src / name, dest / name)
    return dest


def run(
    root: Path, emu: Any, backend: Backend, *args: str, env: dict[str, str | None] | None = None
) -> subprocess.Popen[str]:
    """``assetgen ARGS`` in ``root``, against the emulator and the remote (``env``: a None
    value removes that variable)."""
    full: dict[str, str | None] = {
        **os.environ,
        **FAST,
        **backend.env,
        "EVOLINK_API_KEY": emu.key,
        "EVOLINK_BASE_URL": emu.base_url,
        "ASSETGEN_REMOTE_CACHE": backend.url,
        "ASSETGEN_REMOTE_TIMEOUT": "2",
        "NO_COLOR": "1",
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "assetgen", "-C", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in full.items() if v is not None},
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def warnings_of(out: str, err: str) -> list[str]:
    """Warning lines, from stderr or from --json events (wherever the build reports them)."""
    lines = [line.removeprefix("warning: ") for line in err.splitlines() if "warning" in line]
    for line in out.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "warning":
                lines.append(event["message"])
    return lines


def test_a_fresh_clone_builds_from_the_remote_without_a_submit(
    tmp_path: Path, emu: Any, backend: Backend
) -> None:
    """A pays and pushes; B plans all as cached and builds with zero submits, the same lock."""
    a = project(tmp_path / "a", 6)
    code, out, err = finish(run(a, emu, backend, "build"))
    assert code == 0, err
    paid = emu.stats()["submits"]
    assert paid == 6 and not warnings_of(out, err)

    b = clone(a, tmp_path / "b")
    code, out, err = finish(run(b, emu, backend, "plan", "--json"))
    assert code == 0, err
    plan = json.loads(out)
    assert plan["summary"]["restore"] == 6 and plan["credits"] == 0
    assert all(action["cached"] for action in plan["actions"])

    code, out, err = finish(run(b, emu, backend, "build", "--json"))
    assert code == 0, err
    assert emu.stats()["submits"] == paid  # not one more
    assert read_lock(b / "assetgen.lock").entries == read_lock(a / "assetgen.lock").entries
    for entry in read_lock(b / "assetgen.lock").entries.values():
        assert (b / entry.path).stat().st_size == entry.bytes
    assert not warnings_of(out, err)
    # Fetched all at once before restoring (as `cache pull` does), not one by one.
    cache = b / ".assetgen" / "cache"
    assert list((cache / "blobpacks").glob("*.pack")) and not (cache / "blobs").exists()


def test_a_remote_stopped_mid_build_is_a_warning_and_a_finished_build(
    tmp_path: Path, backend: Backend
) -> None:
    """The remote goes away while assets are still generating: one warning, exit 0, all built."""
    root = project(tmp_path / "p", 6)
    with emulator.run_emulator(latency=0.4, seed=3) as emu:
        proc = run(root, emu, backend, "build", "--jobs", "2", "--json")
        deadline = time.monotonic() + 60
        while emu.stats()["submits"] < 3:
            assert time.monotonic() < deadline and proc.poll() is None, "no submits"
            time.sleep(0.02)
        backend.stop()
        code, out, err = finish(proc)
    assert code == 0, err
    assert len(read_lock(root / "assetgen.lock").entries) == 6
    remote_warnings = [w for w in warnings_of(out, err) if w.startswith("remote cache ")]
    assert len(remote_warnings) == 1, (out, err)
    assert remote_warnings[0].endswith("continuing with the local cache only")


def test_no_push_builds_without_uploading(tmp_path: Path, emu: Any, backend: Backend) -> None:
    """build --no-push reads the remote but leaves it as it was."""
    a = project(tmp_path / "a", 2)
    assert finish(run(a, emu, backend, "build", "--no-push"))[0] == 0
    b = clone(a, tmp_path / "b")
    code, out, _ = finish(run(b, emu, backend, "plan", "--json"))
    assert code == 0 and not any(a["cached"] for a in json.loads(out)["actions"])


def test_the_manifest_names_the_remote(tmp_path: Path, emu: Any, backend: Backend) -> None:
    """cache: {remote: URL} in the manifest works as $ASSETGEN_REMOTE_CACHE does."""
    if backend.name == "s3":
        pytest.skip("the s3 endpoint comes from the environment either way")
    a = project(tmp_path / "a", 2)
    manifest = (a / "assetgen.yaml").read_text(encoding="utf-8")
    (a / "assetgen.yaml").write_text(
        manifest.replace("assets:\n", f"cache: {{remote: {backend.url}}}\nassets:\n"),
        encoding="utf-8",
    )
    no_env: dict[str, str | None] = {"ASSETGEN_REMOTE_CACHE": None}
    assert finish(run(a, emu, backend, "build", env=no_env))[0] == 0
    b = clone(a, tmp_path / "b")
    code, out, _ = finish(run(b, emu, backend, "plan", "--json", env=no_env))
    assert code == 0 and all(a["cached"] for a in json.loads(out)["actions"])


def test_cache_push_and_pull(tmp_path: Path, emu: Any, backend: Backend) -> None:
    """`cache push` uploads what the lock names; `cache pull` fills an empty clone's cache."""
    a = project(tmp_path / "a", 3)
    assert finish(run(a, emu, backend, "build", "--no-push"))[0] == 0
    assert finish(run(a, emu, backend, "cache", "push"))[0] == 0
    b = clone(a, tmp_path / "b")
    assert finish(run(b, emu, backend, "cache", "pull"))[0] == 0
    backend.stop()  # everything B needs is local now
    code, out, err = finish(run(b, emu, backend, "build", "--json"))
    assert code == 0, err
    assert emu.stats()["submits"] == 3 and not warnings_of(out, err)


def test_shards_then_a_plain_build_assemble_the_lock(
    tmp_path: Path, emu: Any, backend: Backend
) -> None:
    """Three runners build 1/3, 2/3, 3/3; a final plain build assembles all with no submit."""
    root = project(tmp_path / "repo", 9)
    for i in (1, 2, 3):
        runner = clone(root, tmp_path / f"runner{i}")
        code, _, err = finish(run(runner, emu, backend, "build", "--shard", f"{i}/3"))
        assert code == 0, err
    assert emu.stats()["submits"] == 9 and emu.stats()["duplicate_submits"] == 0
    final = clone(root, tmp_path / "final")
    code, _, err = finish(run(final, emu, backend, "build"))
    assert code == 0, err
    assert emu.stats()["submits"] == 9
    assert len(read_lock(final / "assetgen.lock").entries) == 9
