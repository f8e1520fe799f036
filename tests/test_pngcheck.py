"""pngcheck accepts exactly the PNGs Pillow decodes, and refuses what it refuses."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from assetgen.pngcheck import SIGNATURE, PngError, check_png


def pillow_decodes(data: bytes) -> bool:
    """The reference: Pillow's container check plus a full decode, plus a whole IEND
    chunk (Pillow accepts a file cut inside IEND's CRC; a download so cut is not whole)."""
    if data.rfind(b"IEND\xaeB`\x82") == -1:
        return False
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except Exception:
        return False
    return True


def png(mode: str, size: tuple[int, int] = (67, 41), **params: object) -> bytes:
    rnd = random.Random(f"{mode}{size}")
    raw = bytes(rnd.randrange(256) for _ in range(size[0] * size[1] * 8))
    if mode == "I;16":
        im = Image.frombytes("I;16", size, raw[: size[0] * size[1] * 2])
    else:
        im = Image.frombytes("RGBA", size, raw[: size[0] * size[1] * 4]).convert(mode)
    out = io.BytesIO()
    im.save(out, "PNG", **params)
    return out.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def handmade(
    width: int, height: int, rows: bytes, *, idat_parts: int = 1, interlace: int = 0
) -> bytes:
    """An 8-bit greyscale PNG from raw filtered rows, its stream split into several IDATs."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, interlace)
    stream = zlib.compress(rows)
    step = max(1, len(stream) // idat_parts)
    parts = [stream[i : i + step] for i in range(0, len(stream), step)]
    idats = b"".join(chunk(b"IDAT", p) for p in parts)
    return SIGNATURE + chunk(b"IHDR", ihdr) + idats + chunk(b"IEND", b"")


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"])
def test_every_colour_type_and_depth_is_accepted_with_its_size(mode: str) -> None:
    data = png(mode)
    header = check_png(data, None)
    assert header is not None and (header.width, header.height) == (67, 41)
    assert pillow_decodes(data)


def test_interlaced_png_is_left_to_a_full_decode() -> None:
    assert check_png(handmade(4, 4, bytes(20), interlace=1), None) is None


def test_a_stream_split_over_many_idat_chunks_is_accepted() -> None:
    rows = b"".join(bytes([i % 5]) + bytes(range(40)) for i in range(30))
    data = handmade(40, 30, rows, idat_parts=7)
    assert check_png(data, None) is not None and pillow_decodes(data)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (b"".join(b"\x00" + bytes(40) for _ in range(29)), "ends early"),  # a row short
        (b"".join(b"\x00" + bytes(40) for _ in range(31)), "more pixel data"),  # a row long
        (b"".join(bytes([7 if i == 12 else 0]) + bytes(40) for i in range(30)), "filter type"),
    ],
)
def test_wrong_pixel_data_is_refused_like_a_decoder_would(rows: bytes, message: str) -> None:
    data = handmade(40, 30, rows)
    with pytest.raises(PngError, match=message):
        check_png(data, None)
    # Pillow pads a complete stream that is rows short and ignores surplus rows;
    # refusing both is stricter. A bad filter byte it refuses, as we do.
    assert pillow_decodes(data) == (message != "filter type")


def test_the_pixel_limit_is_enforced_before_inflating() -> None:
    with pytest.raises(PngError, match="more than the 100 pixels"):
        check_png(png("L"), 100)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_damage_is_judged_as_pillow_judges_it(data: st.DataObject) -> None:
    """Random truncations and byte flips: refused exactly when Pillow refuses them.

    (A flip that keeps every CRC valid is vanishingly rare, so in practice every
    flip must be refused, and every truncation.)
    """
    original = png(data.draw(st.sampled_from(["L", "RGB", "RGBA", "P"])))
    damaged = bytearray(original)
    if data.draw(st.booleans()):
        damaged = damaged[: data.draw(st.integers(len(SIGNATURE), len(original) - 1))]
    else:
        at = data.draw(st.integers(len(SIGNATURE), len(original) - 1))
        damaged[at] ^= data.draw(st.integers(1, 255))
    try:
        ours = check_png(bytes(damaged), None) is not None
    except PngError:
        ours = False
    assert ours == pillow_decodes(bytes(damaged))
