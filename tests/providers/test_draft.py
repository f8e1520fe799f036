from __future__ import annotations

import dataclasses
import io
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from PIL import Image

from assetgen import imaging
from assetgen.catalog import MODELS
from assetgen.providers.base import Generated
from assetgen.providers.draft import ELLIPSIS, DraftProvider, _font, _wrap, render_draft
from assetgen.spec import REQUEST_FIELDS, AssetSpec, spec_hash

KREA = MODELS["krea-2-turbo"]
COMBOS = [(size, quality) for size in KREA.sizes for quality in KREA.qualities]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_spec(**overrides: Any) -> AssetSpec:
    """A draft AssetSpec whose width, height and hash follow from its request fields."""
    fields: dict[str, Any] = {
        "name": "hero-home",
        "provider": "draft",
        "model": "krea-2-turbo",
        "prompt": "flat vector illustration, a city skyline at dawn",
        "size": "1:1",
        "quality": "1K",
        "seed": 1234,
        "nsfw_check": False,
        "output": "hero-home.png",
        "credits": 0.0,
    }
    fields.update(overrides)
    width, height = MODELS[fields["model"]].pixels[fields["size"]][fields["quality"]]
    fields.setdefault("width", width)
    fields.setdefault("height", height)
    fields.setdefault("spec_hash", spec_hash({f: fields[f] for f in REQUEST_FIELDS}))
    return AssetSpec(**fields)


class RecordingContext:
    def __init__(self) -> None:
        self.states: list[str] = []
        self.task_ids: list[str] = []

    def state(self, state: str) -> None:
        self.states.append(state)

    def submitted(self, task_id: str, credits: float | None = None) -> None:
        self.task_ids.append(task_id)

    def journalled_task(self) -> None:
        return None

    def warn(self, message: str) -> None:
        raise AssertionError(f"a draft has nothing to warn about: {message}")

    def possible_double_charge(self, why: str) -> None:
        raise AssertionError(f"a draft is never charged: {why}")


@pytest.mark.parametrize(("size", "quality"), COMBOS)
def test_draft_has_the_exact_pixel_size(size: str, quality: str) -> None:
    """Every size x quality of krea-2-turbo renders a valid PNG of exactly its catalog size."""
    spec = make_spec(size=size, quality=quality)
    info = imaging.verify(render_draft(spec), spec.width, spec.height)
    assert info == imaging.ImageInfo("png", *KREA.pixels[size][quality])


def test_same_spec_gives_identical_bytes() -> None:
    """Rendering one spec twice gives the same bytes."""
    spec = make_spec()
    assert render_draft(spec) == render_draft(dataclasses.replace(spec))


@pytest.mark.parametrize(
    "change", [{"prompt": "a lighthouse at night"}, {"seed": 99}, {"name": "other-asset"}]
)
def test_different_request_gives_different_bytes(change: dict[str, Any]) -> None:
    """A different prompt, seed or name gives a different draft."""
    assert render_draft(make_spec(**change)) != render_draft(make_spec())


def test_different_hash_gives_different_background() -> None:
    """The background comes from the spec hash, so two hashes differ even with equal text."""
    a = Image.open(io.BytesIO(render_draft(make_spec(spec_hash="sha256:" + "0" * 64))))
    b = Image.open(io.BytesIO(render_draft(make_spec(spec_hash="sha256:" + "f" * 64))))
    corner = (5, a.height // 2)  # left edge, below the banner, outside the panel
    assert a.getpixel(corner) != b.getpixel(corner)


@pytest.mark.parametrize(
    "prompt",
    [
        "word " * 2000,
        "x" * 5000,
        "un café très élégant — naïve, 日本語のテキスト, emoji 🎨🚀👩‍👩‍👧 and a flag 🇫🇷",
        "tabs\tnew\nlines\r\nand \x00 controls \u200b\u202e",
        "",
        " ",
    ],
    ids=["many-words", "one-long-word", "non-ascii-emoji", "control-chars", "empty", "blank"],
)
def test_awkward_prompts_render(prompt: str) -> None:
    """Long, non-ASCII, emoji, control-character and empty prompts render at the right size."""
    spec = make_spec(prompt=prompt, size="1:2")
    imaging.verify(render_draft(spec), spec.width, spec.height)


def test_long_name_renders() -> None:
    """A name wider than the image is cut with an ellipsis rather than overflowing."""
    spec = make_spec(name="a" * 300, size="9:16")
    imaging.verify(render_draft(spec), spec.width, spec.height)


def test_draft_png_has_no_metadata_chunks() -> None:
    """The PNG carries pixels only: no text, time or EXIF chunks that could vary."""
    data = render_draft(make_spec())
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"tIME", b"eXIf", b"pHYs"):
        assert chunk not in data


@pytest.mark.parametrize("words", [3, 40, 400])
def test_wrap_fits_width_and_marks_cuts(words: int) -> None:
    """Lines fit the width; a cut prompt ends in an ellipsis, a whole one keeps every word."""
    font = _font(30)
    text = " ".join(f"word{i}" for i in range(words))
    lines = _wrap(text, font, 400, max_lines=8)
    assert 1 <= len(lines) <= 8
    assert all(font.getlength(line) <= 400 for line in lines)
    if len(lines) < 8:
        assert " ".join(lines) == text
    else:
        assert lines[-1].endswith(ELLIPSIS)


def test_wrap_cuts_a_word_longer_than_the_line() -> None:
    """A single word wider than the line is split across lines."""
    font = _font(30)
    lines = _wrap("y" * 200, font, 300, max_lines=50)
    assert "".join(lines) == "y" * 200
    assert all(font.getlength(line) <= 300 for line in lines)


@pytest.mark.anyio
async def test_generate_reports_running_and_is_free() -> None:
    """generate() says `running`, submits no paid task and returns the draft at no cost."""
    provider = DraftProvider()
    ctx = RecordingContext()
    spec = make_spec()
    result = await provider.generate(spec, ctx)
    await provider.aclose()
    assert provider.name == "draft"
    assert ctx.states == ["running"]
    assert ctx.task_ids == []
    assert result == Generated(data=render_draft(spec), credits=0.0)


@pytest.mark.anyio
async def test_generate_leaves_the_event_loop_free() -> None:
    """Rendering runs in a worker thread: other tasks keep running while a draft renders."""
    done = anyio.Event()
    ticks = 0

    async def render() -> None:
        await DraftProvider().generate(make_spec(quality="2K"), RecordingContext())
        done.set()

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(render)
        tg.start_soon(tick)
    assert ticks > 10  # a render blocking the loop would allow at most one
