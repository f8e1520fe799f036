"""A hostile gateway: echoed keys, huge task ids, internal result links, image bombs, trickles."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageFile

from assetgen import cli
from assetgen.build.journal import Journal
from assetgen.catalog import MODELS
from assetgen.commands import cache as commands
from assetgen.errors import (
    IntegrityError,
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
)
from assetgen.imaging import verify
from assetgen.lock.read import parse_lock
from assetgen.providers.evolink import provider as evolink_module
from assetgen.providers.evolink.body import check_complete
from assetgen.providers.evolink.config import EvoLinkConfig
from assetgen.providers.evolink.provider import EvoLinkProvider
from assetgen.spec import AssetSpec
from tests.providers.evolink_fakes import (
    BASE,
    KEY,
    RESULT,
    TASK,
    FakeClock,
    FakeGateway,
    RecordingContext,
    Script,
    error,
    make_provider,
    png,
    submitted,
    task,
)
from tests.providers.test_draft import make_spec
from tests.providers.test_evolink_build import build, journal_tasks

BODY = KEY.removeprefix("sk-evo-")
SPEC_PIXELS = MODELS["krea-2-turbo"].pixels


def run(coro: Any) -> Any:
    import anyio

    return anyio.run(lambda: coro)


def spec() -> AssetSpec:
    return make_spec()


# --- secrets -----------------------------------------------------------------------------


def echoing_gateway() -> Any:
    """Echoes the Authorization header (and the key's body) everywhere it can."""
    tasks: dict[str, dict[str, Any]] = {}

    def handle(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        path = request.url.path
        if request.method == "POST" and path == "/v1/images/generations":
            body = json.loads(request.content)
            prompt = body["prompt"]
            if "search" in prompt:
                return submitted(task_id=f"task-unified-{BODY}")
            if "settings" in prompt:
                return error(400, f"bad_{BODY}", f"refused for {auth}", param=BODY)
            tid = "task-unified-profile" if "profile" in prompt else "task-unified-hero"
            tasks[tid] = body
            return submitted(task_id=tid)
        if request.method == "GET" and path.startswith("/v1/tasks/"):
            tid = path.rsplit("/", 1)[1]
            if tid == "task-unified-profile":
                return task(
                    "failed", tid, code="content_policy_violation", message=f"no, {auth} {BODY}"
                )
            return task("completed", tid, results=[f"{BASE}/files/{tid}.png?sig={BODY}&a={KEY}"])
        if request.method == "GET" and path.startswith("/files/"):
            req = tasks[path.rsplit("/", 1)[1].removesuffix(".png")]
            w, h = SPEC_PIXELS[req["size"]][req["quality"]]
            return httpx.Response(200, content=png(w, h), headers={"x-echo": auth})
        if path == "/v1/credits":
            data = {
                "token": {"remaining_credits": 5.0, "used_credits": 1, "note": auth},
                "user": {"remaining_credits": float("nan"), "owner": BODY},
                "echo": KEY,
            }
            text = json.dumps({"success": True, "message": auth, "data": data})  # NaN as is
            return httpx.Response(200, content=text, headers={"content-type": "application/json"})
        return error(404, "not_found", f"no route for {auth}")

    return handle


def all_text_under(root: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_an_echoing_gateway_leaks_the_key_nowhere(
    quickstart: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The key (and its body) reaches no output, event, failure record, lock, cache or memo."""
    handle = echoing_gateway()
    monkeypatch.setattr(evolink_module, "from_env", lambda *a, **k: make_provider(handle))
    code = cli.main(["-C", str(quickstart), "build", "--json"])
    assert code == 1  # three of four fail; none with a traceback
    code = cli.main(["-C", str(quickstart), "build", "--json"])  # reads lock, memo, failures
    assert cli.main(["credits", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert events, out
    credits = events[-1]
    assert credits == {
        "token": {"remaining_credits": 5.0, "used_credits": 1},
        "user": {},
    }, "credits --json prints only the fields assetgen knows"
    failures = next((quickstart / ".assetgen").glob("*.failures.json")).read_text()
    assert "task id" in failures and "content_policy_violation" in failures
    lock = (quickstart / "assetgen.lock").read_text()
    assert "hero-home" in lock and "results" not in lock and "sig=" not in lock
    stored = all_text_under(quickstart)
    for secret in (KEY, BODY):
        assert secret not in out and secret not in err
        assert secret.encode() not in stored


def test_a_key_body_alone_is_redacted_from_errors() -> None:
    """A proxy echoing the key without its sk-evo- prefix is scrubbed as well."""
    script = Script().submit(error(400, "bad", f"token {BODY} refused", param=BODY))
    p = make_provider(script.handler)
    with pytest.raises(PermanentProviderError) as info:
        run(p.generate(spec(), RecordingContext()))
    assert BODY not in str(info.value) and "***" in str(info.value)


@pytest.mark.parametrize("pad", [460, 480, 495])
def test_a_key_cut_by_the_message_limit_is_still_redacted(pad: int) -> None:
    """An error message is redacted whole, then cut: a key that straddles the cut does not
    leave its first part behind."""
    script = Script().submit(error(400, "bad", "x" * pad + BODY, param="p"))
    p = make_provider(script.handler)
    with pytest.raises(PermanentProviderError) as info:
        run(p.generate(spec(), RecordingContext()))
    text = str(info.value)
    assert BODY[:8] not in text, text[-80:]


def test_credits_json_keeps_only_known_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown fields, echoed headers and non-finite numbers never reach `credits --json`."""
    p = make_provider(echoing_gateway())
    out = io.StringIO()
    assert commands.credits(as_json=True, out=out, provider=p) == 0
    assert json.loads(out.getvalue()) == {
        "token": {"remaining_credits": 5.0, "used_credits": 1},
        "user": {},
    }


# --- task ids ---------------------------------------------------------------------------


def test_a_5mb_task_id_fails_its_asset_and_is_never_journalled(quickstart: Path) -> None:
    """A 5 MB id is a failed asset with a clear message; the journal stays clean; builds go on."""
    huge = "task-unified-" + "a" * (5 * 1024 * 1024)
    gw = FakeGateway()
    gw.submit_hook = lambda body, n: submitted(huge) if "search" in body["prompt"] else None
    code, out = build(quickstart, gw)
    assert code == 1, out
    assert "task id of 5242893 characters" in out and "Traceback" not in out
    assert journal_tasks(quickstart) == []
    lock = (quickstart / "assetgen.lock").read_text()
    assert "a" * 200 not in lock and "icon-search" not in lock
    gw.submit_hook = None
    code, out = build(quickstart, gw)
    assert code == 0, out


def test_a_bad_journalled_task_id_is_ignored_not_sent(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An id an older assetgen journalled unchecked is dropped with a warning, not polled."""
    from assetgen.manifest.resolve import parse_manifest

    manifest = parse_manifest((quickstart / "assetgen.yaml").read_bytes(), "assetgen.yaml")
    hero = next(s for s in manifest.specs if s.name == "hero-home")
    j = Journal(quickstart / ".assetgen" / "assetgen.journal.db")
    j.record_task(hero.spec_hash, hero.name, "evolink", "x/../" + "b" * 300, {})
    j.close()
    gw = FakeGateway()
    code, out = build(quickstart, gw)
    assert code == 0, out
    assert "ignoring a journalled task" in capsys.readouterr().err and gw.accepted == 4
    assert not [r for r in gw.tasks if "b" * 100 in r]


# --- result links -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "http://169.254.169.254/latest/meta-data/iam",
        "https://169.254.169.254/latest/meta-data/iam",
        "https://10.1.2.3/x.png",
        "https://127.0.0.1/x.png",
        "https://[::ffff:192.168.0.1]/x.png",
        "https://metadata.google.internal/x.png",
        "http://files.evolink.test/x.png",
        "file:///etc/passwd",
    ],
)
def test_result_links_to_internal_or_plain_http_hosts_are_refused(link: str) -> None:
    """With a public base URL, only https to a public host is fetched; nothing else is asked."""
    script = Script().submit(submitted()).poll(task("completed", results=[link]))
    p = make_provider(script.handler)
    with pytest.raises(PermanentProviderError) as info:
        run(p.generate(spec(), RecordingContext()))
    assert "was not fetched" in str(info.value)
    assert len(script.requests) == 2  # the submit and the poll: the link itself never


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "https://10.0.0.7/a.png", "/../x"]
)
def test_a_redirect_to_an_internal_host_is_refused(target: str) -> None:
    """A public link that redirects inward is refused before the redirect is followed."""
    if target.startswith("/"):
        target = "http://127.0.0.1:9" + target
    script = (
        Script()
        .submit(submitted())
        .poll(task("completed"))
        .download(httpx.Response(302, headers={"location": target}))
    )
    p = make_provider(script.handler)
    with pytest.raises(PermanentProviderError) as info:
        run(p.generate(spec(), RecordingContext()))
    assert "a redirect to" in str(info.value)
    assert [r.url.host for r in script.requests][-1] == "files.evolink.test"


def test_a_public_redirect_is_followed_without_the_key() -> None:
    """Redirects to public https hosts still work; the key stays with the gateway's origin."""
    other = "https://cdn.example.com/img.png"
    image = png()
    script = (
        Script()
        .submit(submitted())
        .poll(task("completed", results=[f"{BASE}/files/a.png"]))
        .on("GET", f"{BASE}/files/a.png", httpx.Response(302, headers={"location": other}))
        .on("GET", other, httpx.Response(200, content=image))
    )
    p = make_provider(script.handler)
    got = run(p.generate(make_spec(width=8, height=8), RecordingContext()))
    assert got.data == image
    first, second = script.requests[-2:]
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert "authorization" not in second.headers


def test_a_loopback_base_url_may_fetch_loopback_links() -> None:
    """The emulator's case: base and links on 127.0.0.1 over plain http."""
    base = "http://127.0.0.1:8765"
    link = f"{base}/files/{TASK}_0.png"
    image = png()
    script = Script().submit(submitted()).poll(task("completed", results=[link]))
    script.on("GET", link, httpx.Response(200, content=image))
    cfg = EvoLinkConfig(api_key=KEY, base_url=base)
    p = EvoLinkProvider(cfg, transport=httpx.MockTransport(script.handler), clock=FakeClock())
    assert run(p.generate(make_spec(width=8, height=8), RecordingContext())).data == image


# --- image bombs ------------------------------------------------------------------------


def bomb_jpeg(width: int = 9400, height: int = 9400, *, end: bool = True) -> bytes:
    """A small JPEG whose frame header claims ``width`` x ``height``."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (9, 9, 9)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data if end else data[:-2])


def interlaced_png(width: int = 9400, height: int = 9400) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    idat = zlib.compress(b"\0" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(Image.Image, "verify", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "verify", refuse, raising=False)


@pytest.mark.parametrize("data", [bomb_jpeg(), bomb_jpeg(end=False), interlaced_png()])
def test_a_huge_image_is_refused_from_its_header(data: bytes, no_decoding: None) -> None:
    """A 9400x9400 image for a 1024x1024 request is refused before any pixel is decoded."""
    with pytest.raises(IntegrityError, match="image is 9400x9400, expected 1024x1024"):
        verify(data, 1024, 1024)


def test_a_cut_huge_jpeg_is_refused_by_the_transfer_check(no_decoding: None) -> None:
    """check_complete decodes what lacks its end marker: only once the header fits."""
    with pytest.raises(IntegrityError, match="image is 9400x9400"):
        check_complete(bomb_jpeg(end=False), 1024, 1024)


def test_a_huge_jpeg_from_the_gateway_fails_without_decoding(no_decoding: None) -> None:
    """Through the provider: a cut 9400x9400 JPEG is refused at the header, download after download."""
    script = Script().submit(submitted()).poll(task("completed"))
    script.download(httpx.Response(200, content=bomb_jpeg(end=False)))
    p = make_provider(script.handler, http_retries=1)
    with pytest.raises(PermanentProviderError, match="9400x9400"):
        run(p.generate(make_spec(width=1024, height=1024), RecordingContext()))


# --- slow downloads -----------------------------------------------------------------------


class Trickle(httpx.AsyncByteStream):
    """One byte per (fake) second."""

    def __init__(self, data: bytes, clock: FakeClock) -> None:
        self.data, self.clock = data, clock

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i in range(len(self.data)):
            self.clock.now += 1.0
            yield self.data[i : i + 1]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"download_deadline": 30.0, "download_min_rate": 0.0}, "not done after 30s"),
        ({}, "below the minimum of 16 KB/s"),
    ],
)
def test_a_trickling_download_fails_and_is_retried(config: dict[str, Any], message: str) -> None:
    """A server sending a byte a second fails each download; retries as for other failures."""
    clock = FakeClock()
    image = png(64, 64)
    script = Script().submit(submitted()).poll(task("completed"))
    script.download(lambda request: httpx.Response(200, stream=Trickle(image, clock)))
    p = make_provider(script.handler, clock, http_retries=2, **config)
    with pytest.raises(TransientProviderError, match=message) as info:
        run(p.generate(make_spec(width=64, height=64), RecordingContext()))
    assert "stays journalled" in str(info.value)
    assert len(script.calls("GET", RESULT)) == 3


def test_download_knobs_come_from_the_environment() -> None:
    from assetgen.providers.evolink.config import config_from_env

    cfg = config_from_env(
        {
            "EVOLINK_API_KEY": KEY,
            "ASSETGEN_EVOLINK_DOWNLOAD_DEADLINE": "12",
            "ASSETGEN_EVOLINK_DOWNLOAD_MIN_KBPS": "2",
        }
    )
    assert cfg.download_deadline == 12.0 and cfg.download_min_rate == 2048.0


# --- result links stay out of the lock and the cache --------------------------------------


def test_result_links_are_not_locked_or_cached(quickstart: Path) -> None:
    """Links expire and may carry tokens: neither the lock nor a cache record keeps them."""
    code, out = build(quickstart, FakeGateway())
    assert code == 0, out
    assert "results" not in (quickstart / "assetgen.lock").read_text()
    records = [
        p for p in (quickstart / ".assetgen").rglob("*") if p.is_file() and p.suffix == ".json"
    ]
    assert records and not any(b"/files/task-unified-" in p.read_bytes() for p in records)


def test_an_old_lock_with_result_links_still_reads() -> None:
    """A lock written before this change (with `results:`) reads, and the links are dropped."""
    from assetgen.lock.model import format_lock

    text = (
        "version: 1\nhash_version: 1\nassets:\n  hero:\n"
        "    spec_hash: sha256:" + "a" * 64 + "\n"
        "    request: {provider: draft, model: krea-2-turbo, prompt: p, size: '1:1', "
        "quality: 1K, seed: 5, nsfw_check: false}\n"
        "    path: assets/hero.png\n    sha256: " + "b" * 64 + "\n"
        "    bytes: 10\n    width: 1024\n    height: 1024\n"
        "    task_id: task-unified-1\n    results: ['https://x.test/a.png?token=t']\n"
        "    credits: 0.45\n"
    )
    lock = parse_lock(text.encode())
    assert lock.entries["hero"].results == ()
    assert "results" not in format_lock(lock)


@pytest.mark.parametrize("status", [200, 400])
def test_a_deeply_nested_reply_is_an_error_not_a_crash(status: int) -> None:
    """``[[[[...`` 100,000 deep overflows json's recursion: an answer error, no traceback."""
    deep = b"[" * 100_000 + b"]" * 100_000
    script = Script().submit(httpx.Response(status, content=deep))
    p = make_provider(script.handler, http_retries=0)
    with pytest.raises(ProviderError):
        run(p.generate(spec(), RecordingContext()))
