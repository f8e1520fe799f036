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
def test_damage_is_never_accepted_when_pillow_refuses_it(data: st.DataObject) -> None:
    """Random truncations and byte flips: whatever Pillow refuses, we refuse too, and a
    truncated file always. (We may be stricter: a flipped IEND length, say, which
    Pillow reads past.)"""
    original = png(data.draw(st.sampled_from(["L", "RGB", "RGBA", "P"])))
    damaged = bytearray(original)
    truncated = data.draw(st.booleans())
    if truncated:
        damaged = damaged[: data.draw(st.integers(len(SIGNATURE), len(original) - 1))]
    else:
        at = data.draw(st.integers(len(SIGNATURE), len(original) - 1))
        damaged[at] ^= data.draw(st.integers(1, 255))
    try:
        ours = check_png(bytes(damaged), None) is not None
    except PngError:
        ours = False
    assert not ours or pillow_decodes(bytes(damaged))
    assert not (ours and truncated)


def rebuild(data: bytes, change: dict[bytes, bytes | None], extra: list[bytes] = ()) -> bytes:  # type: ignore[assignment]
    """``data`` with chunks replaced (None: dropped) and CRCs recomputed; ``extra`` before IEND."""
    pos, out = len(SIGNATURE), [SIGNATURE]
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IEND":
            out.extend(extra)
        new = change.get(kind, body)
        if new is not None:
            out.append(chunk(kind, new))
    return b"".join(out)


def test_a_broken_pixel_stream_behind_a_valid_crc_is_refused_not_raised() -> None:
    """zlib-ng's own error class is caught: a bad Adler-32 is a PngError, not a crash."""
    original = handmade(8, 8, bytes(72))
    stream = zlib.compress(bytes(72))
    bad = stream[:-1] + bytes([stream[-1] ^ 0xFF])  # the Adler-32 no longer matches
    data = rebuild(original, {b"IDAT": bad})
    with pytest.raises(PngError, match="pixel stream"):
        check_png(data, None)
    assert not pillow_decodes(data)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 7, 8, 0, 0, 0, 0))], "second IHDR"),
        ([chunk(b"ab1d", b"")], "not a PNG chunk type"),
        ([chunk(b"ZZZZ", b"")], "unknown critical"),
        ([chunk(b"PLTE", bytes(6))], "PLTE"),
    ],
)
def test_chunks_a_decoder_would_trip_on_are_refused(extra: list[bytes], message: str) -> None:
    data = rebuild(handmade(8, 8, bytes(72)), {}, extra)
    with pytest.raises(PngError, match=message):
        check_png(data, None)


def test_a_truncated_transparency_chunk_is_refused() -> None:
    good = png("RGB", size=(8, 8), transparency=(1, 2, 3))
    assert check_png(good, None) is not None
    with pytest.raises(PngError, match="tRNS"):
        check_png(rebuild(good, {b"tRNS": b"\x00\x01"}), None)


def test_a_huge_image_is_inflated_in_bounded_pieces() -> None:
    """A 4000x4000 stream of zeros (16 MB inflated) is checked through 1 MB pieces."""
    rows = zlib.compress(bytes(4001 * 4000), 9)
    ihdr = struct.pack(">IIBBBBB", 4000, 4000, 8, 0, 0, 0, 0)
    data = SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    header = check_png(data, None)
    assert header is not None and (header.width, header.height) == (4000, 4000)
