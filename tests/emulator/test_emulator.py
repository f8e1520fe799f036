"""The EvoLink emulator over real HTTP on 127.0.0.1: contract, faults, stats and scale."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from PIL import Image

from assetgen.catalog import MODELS
from assetgen.emulator import Emulator, EmulatorConfig, EmulatorState, run_emulator, spec_key

KREA = MODELS["krea-2-turbo"]
GEN = "/v1/images/generations"


@pytest.fixture(scope="module")
def shared() -> Iterator[Emulator]:
    with run_emulator(latency=0) as emu:
        yield emu


@pytest.fixture
def emu(shared: Emulator) -> Emulator:
    shared.reset()
    return shared


def client(emu: Emulator, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key or emu.key}"}
    return httpx.Client(base_url=emu.base_url, headers=headers, timeout=10)


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "krea-2-turbo", "prompt": "a lighthouse at dusk", **fields}


def wait(c: httpx.Client, task_id: str) -> dict[str, Any]:
    for _ in range(200):
        task: dict[str, Any] = c.get(f"/v1/tasks/{task_id}").json()
        if task["status"] in ("completed", "failed"):
            return task
        time.sleep(0.01)
    raise AssertionError(f"{task_id} did not finish")


@pytest.mark.parametrize(
    ("size", "quality"), [("1:1", "1K"), ("16:9", "2K"), ("2:3", "1K"), ("4:5", "2K")]
)
def test_submit_poll_download_exact_size(emu: Emulator, size: str, quality: str) -> None:
    """A task completes and its result decodes as a PNG at the catalog's exact size."""
    with client(emu) as c:
        r = c.post(GEN, json=body(size=size, quality=quality, seed=7))
        assert r.status_code == 200
        created = r.json()
        assert re.fullmatch(r"task-unified-\d+-[a-z0-9]{8}", created["id"])
        assert created["status"] == "pending" and created["progress"] == 0
        assert created["usage"]["credits_reserved"] == KREA.credits[quality]
        assert created["task_info"]["estimated_time"] >= 1
        task = wait(c, created["id"])
        assert task["status"] == "completed" and task["progress"] == 100
        # What it was charged, in its usage (issue 12: the summary reports the gateway's figure)
        assert task["usage"]["credits_used"] == KREA.credits[quality] and "error" not in task
        (url,) = task["results"]
        assert url.startswith(emu.base_url) and url.endswith(".png")
        image = httpx.get(url)
    assert image.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(image.content)) as im:
        assert (im.format, im.size) == ("PNG", KREA.pixels[size][quality])


def test_jpeg_format_and_several_results() -> None:
    """--format jpeg serves .jpg JPEGs; --results N gives N working URLs."""
    with run_emulator(latency=0, image_format="jpeg", results=2) as emu, client(emu) as c:
        task = wait(c, c.post(GEN, json=body(size="3:2")).json()["id"])
        assert [u.rsplit(".", 1)[1] for u in task["results"]] == ["jpg", "jpg"]
        for url in task["results"]:
            with Image.open(io.BytesIO(httpx.get(url).content)) as im:
                assert (im.format, im.size) == ("JPEG", (1280, 832))


def test_progress_over_time_with_a_fake_clock() -> None:
    """Status goes pending -> processing (rising progress) -> completed as time passes."""
    now = [100.0]
    state = EmulatorState(EmulatorConfig(latency=10), clock=lambda: now[0])
    auth = f"Bearer {state.config.key}"
    task_id = state.submit(auth, b'{"model":"krea-2-turbo","prompt":"x"}', None).body["id"]
    seen = []
    for t in (100.0, 100.5, 103.0, 108.0, 110.0):
        now[0] = t
        reply = state.get_task(auth, task_id, "http://h").body
        seen.append((reply["status"], reply["progress"], "results" in reply))
    assert seen == [
        ("pending", 0, False),
        ("pending", 0, False),
        ("processing", 30, False),
        ("processing", 80, False),
        ("completed", 100, True),
    ]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer sk-evo-wrong"}, {"Authorization": "Basic sk-evo"}],
)
def test_wrong_or_missing_key_is_401(emu: Emulator, headers: dict[str, str]) -> None:
    """A missing or wrong key gets the 401 unauthorized envelope on every API route."""
    routes = (("POST", GEN), ("GET", "/v1/tasks/task-unified-1-x"), ("GET", "/v1/credits"))
    for method, path in routes:
        r = httpx.request(method, emu.base_url + path, headers=headers, json=body())
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
        assert r.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"model": "krea-3"}, "model"),
        ({"model": None}, "model"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": 5}, "prompt"),
        ({"prompt": "word " * 700}, "prompt"),
        ({"size": "7:3"}, "size"),
        ({"quality": "4K"}, "quality"),
        ({"seed": -1}, "seed"),
        ({"seed": 1_048_577}, "seed"),
        ({"seed": True}, "seed"),
        ({"seed": "5"}, "seed"),
        ({"nsfw_check": "yes"}, "nsfw_check"),
        ({"callback_url": "http://example.com/cb"}, "callback_url"),
        ({"callback_url": "https://127.0.0.1/cb"}, "callback_url"),
        ({"callback_url": "https://10.0.0.1/cb"}, "callback_url"),
        ({"callback_url": "https://example.com/" + "a" * 2048}, "callback_url"),
        ({"n": 2}, "n"),
    ],
)
def test_bad_field_is_400_naming_it(emu: Emulator, fields: dict[str, Any], param: str) -> None:
    """Each invalid field gets 400 invalid_request with ``param`` naming it, and no charge."""
    with client(emu) as c:
        r = c.post(GEN, json=body(**fields))
    assert r.status_code == 400
    err = r.json()["error"]
    assert err == {
        **err,
        "code": "invalid_request",
        "type": "invalid_request_error",
        "param": param,
    }
    assert emu.stats()["submits"] == 0 and emu.stats()["credits_charged"] == 0


def test_valid_optional_fields_and_non_json_body(emu: Emulator) -> None:
    """All documented fields are accepted; a body that is not JSON is a 400 without param."""
    fields = {"size": "2:1", "quality": "2K", "seed": 1_048_576, "nsfw_check": True}
    with client(emu) as c:
        ok = c.post(GEN, json=body(callback_url="https://hooks.example.com/evo", **fields))
        bad = c.post(GEN, content=b"{nope", headers={"content-type": "application/json"})
    assert ok.status_code == 200
    assert bad.status_code == 400 and "param" not in bad.json()["error"]


def test_credits_run_out_with_402() -> None:
    """A submit the balance cannot cover gets 402 insufficient_quota; /v1/credits shows the rest."""
    with run_emulator(latency=0, credits=1.0) as emu, client(emu) as c:
        assert [c.post(GEN, json=body()).status_code for _ in range(3)] == [200, 200, 402]
        assert c.post(GEN, json=body()).json()["error"]["code"] == "insufficient_quota"
        data = c.get("/v1/credits").json()
    assert data["success"] is True
    assert data["data"]["token"] == {
        "remaining_credits": 0.1,
        "used_credits": 0.9,
        "unlimited_credits": False,
    }
    assert data["data"]["user"] == {"remaining_credits": 0.1, "used_credits": 0.9}


def test_key_without_model_access_is_403() -> None:
    """A key configured as denied authenticates but gets 403 model_access_denied on submit."""
    config = EmulatorConfig(latency=0, denied_keys=("sk-evo-nomodel",))
    with run_emulator(config) as emu, client(emu, "sk-evo-nomodel") as c:
        r = c.post(GEN, json=body())
        assert c.get("/v1/credits").status_code == 200
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "model_access_denied"


def test_unknown_task_404_and_bad_task_id_400(emu: Emulator) -> None:
    """An unknown task id is 404 task_not_found; one without the prefix is 400 invalid_task_id."""
    with client(emu) as c:
        missing = c.get("/v1/tasks/task-unified-1767225600-zzzzzzzz")
        bad = c.get("/v1/tasks/abc123")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "task_not_found"
    assert bad.status_code == 400
    err = bad.json()["error"]
    assert (err["code"], err["param"]) == ("invalid_task_id", "task_id")


def test_concurrency_cap_is_429_with_retry_after() -> None:
    """At --max-in-flight running tasks a submit gets 429 rate_limit_exceeded and Retry-After."""
    with run_emulator(latency=60, max_in_flight=2, retry_after=3) as emu, client(emu) as c:
        assert [c.post(GEN, json=body(seed=s)).status_code for s in (1, 2)] == [200, 200]
        r = c.post(GEN, json=body(seed=3))
        stats = emu.stats()
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert r.json()["error"] == {
        "code": "rate_limit_exceeded",
        "message": "Too many requests, please try again later",
        "type": "rate_limit_error",
    }
    assert (stats["rate_limited"], stats["tasks_in_flight"], stats["errors"]) == (1, 2, {"429": 1})


def test_idempotent_replay_returns_same_task_without_charging(emu: Emulator) -> None:
    """Same Idempotency-Key and body: same task, replay header, one charge; another body: 409."""
    key = {"Idempotency-Key": "assetgen-0123456789abcdef"}
    with client(emu) as c:
        first = c.post(GEN, json=body(), headers=key)
        again = c.post(GEN, json=body(), headers=key)
        other = c.post(GEN, json=body(seed=9), headers=key)
        short = c.post(GEN, json=body(), headers={"Idempotency-Key": "short"})
    assert first.json()["id"] == again.json()["id"]
    assert "idempotency-replayed" not in first.headers
    assert again.headers["idempotency-replayed"] == "true"
    assert other.status_code == 409
    assert short.status_code == 400 and short.json()["error"]["param"] == "Idempotency-Key"
    stats = emu.stats()
    assert (stats["submits"], stats["idempotent_replays"], stats["duplicate_submits"]) == (1, 1, 0)
    assert stats["credits_charged"] == 0.45


def test_failed_task_carries_chosen_code_and_is_refunded() -> None:
    """--fail-rate 1 with a chosen code: the task fails with a task_error and the credits return."""
    config = EmulatorConfig(latency=0, fail_rate=1.0, fail_codes=("content_policy_violation",))
    with run_emulator(config) as emu, client(emu) as c:
        task = wait(c, c.post(GEN, json=body(quality="2K")).json()["id"])
        credits = c.get("/v1/credits").json()["data"]["token"]
        stats = emu.stats()
    assert (task["status"], task["progress"]) == ("failed", 0)
    assert "results" not in task
    assert task["error"]["code"] == "content_policy_violation"
    assert task["error"]["type"] == "task_error"
    assert credits["used_credits"] == 0
    assert stats["credits_charged"] == stats["credits_refunded"] == 1.8
    assert stats["tasks_failed"] == 1


def test_truncated_download_fault() -> None:
    """--truncate-rate 1: the client gets fewer bytes than Content-Length announced, or an error."""
    with run_emulator(latency=0, truncate_rate=1.0, seed=3) as emu, client(emu) as c:
        (url,) = wait(c, c.post(GEN, json=body()).json()["id"])["results"]
        got = 0
        with httpx.stream("GET", url) as r:
            announced = int(r.headers["content-length"])
            try:
                for chunk in r.iter_raw():
                    got += len(chunk)
            except httpx.RemoteProtocolError:
                pass
        assert 0 < got < announced
        assert emu.stats()["truncated_downloads"] == 1


def test_result_url_expires_with_410() -> None:
    """A result URL works within --url-lifetime and gets 410 url_expired after it."""
    with run_emulator(latency=0, url_lifetime=0.3) as emu, client(emu) as c:
        (url,) = wait(c, c.post(GEN, json=body()).json()["id"])["results"]
        assert httpx.get(url).status_code == 200
        time.sleep(0.35)
        late = httpx.get(url)
        missing = httpx.get(url.replace("_0.png", "_1.png"))
        assert late.status_code == 410 and late.json()["error"]["code"] == "url_expired"
        assert missing.status_code == 404
        assert emu.stats()["expired_downloads"] == 1


def test_server_error_fault_uses_both_envelope_forms() -> None:
    """--error-rate 1 answers /v1 calls with 500/502/503, string and integer codes alike."""
    with run_emulator(latency=0, error_rate=1.0, seed=1) as emu, client(emu) as c:
        replies = [c.get("/v1/credits") for _ in range(30)]
        assert c.post(GEN, json=body()).status_code >= 500
        stats = emu.stats()
    assert {r.status_code for r in replies} == {500, 502, 503}
    codes = {type(r.json()["error"]["code"]) for r in replies}
    assert codes == {str, int}
    assert stats["server_errors"] == 31 and stats["submits"] == 0


def test_stats_count_specs_duplicates_polls_and_downloads(emu: Emulator) -> None:
    """Stats count submits per spec key, duplicates, polls and downloads; reset clears them."""
    with client(emu) as c:
        ids = [c.post(GEN, json=body(seed=s)).json()["id"] for s in (1, 1, 2)]
        url = wait(c, ids[0])["results"][0]
        httpx.get(url)
        stats = c.get("/_emulator/stats").json()
    request = body(seed=1, size="1:1", quality="1K", nsfw_check=False)
    assert stats["submits_per_spec"][spec_key(request)] == 2
    assert spec_key(body(seed=1)) == spec_key(request)  # defaults are filled in first
    assert (stats["submits"], stats["duplicate_submits"], stats["downloads"]) == (3, 1, 1)
    assert stats["polls"] >= 1 and stats["credits_charged"] == 1.35
    assert httpx.post(emu.base_url + "/_emulator/reset").status_code == 200
    assert emu.stats()["submits"] == 0 and emu.stats()["submits_per_spec"] == {}


def test_seeded_runs_are_reproducible() -> None:
    """With the same --seed, task ids, latencies and faults repeat run after run."""

    def run() -> list[tuple[str, float, str | None]]:
        config = EmulatorConfig(seed=42, latency=5, jitter=2, fail_rate=0.5)
        state = EmulatorState(config)
        auth = f"Bearer {config.key}"
        for _ in range(20):
            state.submit(auth, b'{"model":"krea-2-turbo","prompt":"x"}', None)
        return [(t.id.rsplit("-", 1)[1], t.duration, t.fail_code) for t in state.tasks.values()]

    first = run()
    assert first == run()
    assert len({d for _, d, _ in first}) > 1 and {f for _, _, f in first} == {None, "service_error"}


def test_config_rejects_bad_values() -> None:
    """Impossible settings fail when the config is made, not on the first request."""
    for bad in ({"fail_codes": ("nope",)}, {"error_rate": 1.5}, {"results": 0}, {"latency": -1}):
        with pytest.raises(ValueError):
            EmulatorConfig(**bad)


def test_holds_2000_tasks_in_flight() -> None:
    """2,000 running tasks fit, and the server still answers at once."""
    with run_emulator(latency=60) as emu:
        headers = {"Authorization": f"Bearer {emu.key}"}
        limits = httpx.Limits(max_connections=16)
        with httpx.Client(base_url=emu.base_url, headers=headers, limits=limits) as c:

            def submit(i: int) -> int:
                return c.post(GEN, json=body(seed=i + 1)).status_code

            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(submit, range(2000)))
            assert statuses == [200] * 2000
            t0 = time.perf_counter()
            assert c.get("/v1/credits").status_code == 200
            assert time.perf_counter() - t0 < 0.5
        stats = emu.stats()
    assert stats["tasks_in_flight"] == 2000 and stats["submits"] == 2000
    assert stats["credits_charged"] == 900.0


def test_cli_prints_url_and_serves() -> None:
    """``assetgen emulator --port 0`` prints its URL first and serves /v1/credits there."""
    cmd = [sys.executable, "-m", "assetgen", "emulator", "--port", "0", "--key", "sk-evo-cli"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        pattern = r"emulator listening on (http://127\.0\.0\.1:\d+) \(key sk-evo-cli\)\n"
        match = re.fullmatch(pattern, line)
        assert match, line
        r = httpx.get(match[1] + "/v1/credits", headers={"Authorization": "Bearer sk-evo-cli"})
        assert r.status_code == 200 and r.json()["success"] is True
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_cli_without_the_extra_exits_2_with_a_hint() -> None:
    """Without Starlette/uvicorn installed, the command exits 2 and names the extra."""
    code = (
        "import sys; sys.modules['uvicorn'] = None; from assetgen.cli import main; "
        "sys.exit(main(['emulator', '--port', '0']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "pip install 'assetgen-cli[emulator]'" in proc.stderr and proc.stdout == ""


def test_cli_rejects_an_unknown_fail_code() -> None:
    """A bad flag value is a usage error (exit 2) before anything listens."""
    cmd = [sys.executable, "-m", "assetgen", "emulator", "--port", "0", "--fail-codes", "oops"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "unknown fail code 'oops'" in proc.stderr
