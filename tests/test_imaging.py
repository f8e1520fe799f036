from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from assetgen.errors import IntegrityError
from assetgen.imaging import ImageInfo, convert, probe, verify

PIL_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def make_image(mode: str = "RGB", size: tuple[int, int] = (96, 64)) -> Image.Image:
    """A deterministic test picture with detail in every channel (and alpha, for RGBA)."""
    w, h = size
    r = Image.linear_gradient("L").resize(size)
    g = Image.radial_gradient("L").resize(size)
    b = Image.linear_gradient("L").rotate(90).resize(size)
    im = Image.merge("RGB", (r, g, b))
    if mode == "RGBA":
        alpha = Image.new("L", size, 255)
        alpha.paste(0, (0, 0, w // 3, h))  # fully transparent left third
        alpha.paste(128, (w // 3, 0, 2 * w // 3, h))
        im.putalpha(alpha)
    return im.convert(mode) if mode not in ("RGB", "RGBA") else im


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, PIL_NAMES[fmt], **params)
    return out.getvalue()


def pixels(data: bytes, mode: str) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        raw: bytes = im.convert(mode).tobytes()
    return raw


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_probe_reports_format_and_size(fmt: str) -> None:
    """probe() names the decoded format and pixel size."""
    assert probe(encode(make_image(), fmt)) == ImageInfo(fmt, 96, 64)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
@pytest.mark.parametrize("keep", [0.5, 0.9, -1], ids=["half", "most", "last-byte"])
def test_probe_rejects_truncated_images(fmt: str, keep: float) -> None:
    """Truncated bytes raise IntegrityError, down to a missing last byte."""
    data = encode(make_image(), fmt)
    cut = len(data) - 1 if keep == -1 else int(len(data) * keep)
    with pytest.raises(IntegrityError, match=r"truncated|corrupt"):
        probe(data[:cut])


@pytest.mark.parametrize(
    "data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n"], ids=["empty", "text", "magic"]
)
def test_probe_rejects_what_is_not_an_image(data: bytes) -> None:
    """Bytes that are not an image raise IntegrityError."""
    with pytest.raises(IntegrityError):
        probe(data)


def test_probe_rejects_a_corrupt_png_chunk() -> None:
    """A flipped byte inside the PNG data fails its checksum."""
    data = bytearray(encode(make_image(), "png"))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(IntegrityError, match="corrupt"):
        probe(bytes(data))


def test_probe_refuses_images_over_the_pixel_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """An image with more pixels than Image.MAX_IMAGE_PIXELS is refused before decoding."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(IntegrityError, match="more than the 1000 pixels"):
        probe(encode(make_image(size=(40, 40)), "png"))
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(IntegrityError):
        probe(encode(make_image(size=(40, 40)), "jpeg"))


def test_verify_accepts_the_expected_size() -> None:
    """verify() returns the ImageInfo when the size matches."""
    assert verify(encode(make_image(), "png"), 96, 64) == ImageInfo("png", 96, 64)


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("1:1 at 1K", "image is 96x64, expected 96x96 for 1:1 at 1K"),
        ("", "image is 96x64, expected 96x96"),
    ],
)
def test_verify_names_both_sizes(what: str, message: str) -> None:
    """A size mismatch raises IntegrityError naming the actual and expected sizes."""
    with pytest.raises(IntegrityError) as exc:
        verify(encode(make_image(), "png"), 96, 96, what)
    assert str(exc.value) == message


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_convert_to_the_same_format_returns_the_bytes_unchanged(fmt: str) -> None:
    """Same-format conversion returns the delivered bytes object itself."""
    data = encode(make_image(), fmt)
    assert convert(data, probe(data), fmt) is data


CONVERSIONS = [
    (mode, src, dst)
    for mode in ("RGB", "RGBA", "P", "L", "LA")
    for src, dst in [
        ("png", "jpeg"),
        ("png", "webp"),
        ("webp", "png"),
        ("jpeg", "png"),
        ("jpeg", "webp"),
    ]
    if src != "jpeg" or mode in ("RGB", "L")  # JPEG stores no alpha or palette
]


@pytest.mark.parametrize(("mode", "src", "dst"), CONVERSIONS)
def test_convert_decodes_to_the_same_size(mode: str, src: str, dst: str) -> None:
    """Converted bytes decode as the target format at the source's size, identically twice."""
    data = encode(make_image(mode), src)
    info = probe(data)
    out = convert(data, info, dst)
    assert probe(out) == ImageInfo(dst, 96, 64)
    assert convert(data, info, dst) == out


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
@pytest.mark.parametrize("dst", ["webp", "png"])
def test_lossless_conversion_keeps_every_pixel(mode: str, dst: str) -> None:
    """PNG and WebP outputs are lossless: decoded pixels equal the source's."""
    src = make_image(mode)
    data = encode(src, "png" if dst == "webp" else "webp", lossless=True, exact=True)
    out = convert(data, probe(data), dst)
    compare = "RGBA" if mode == "RGBA" else "RGB"
    assert pixels(out, compare) == pixels(data, compare)


def test_jpeg_conversion_flattens_transparency_onto_white() -> None:
    """Fully transparent pixels become white in a JPEG, not black."""
    data = encode(make_image("RGBA"), "png")
    out = convert(data, probe(data), "jpeg")
    with Image.open(io.BytesIO(out)) as im:
        pixel = im.convert("RGB").getpixel((5, 32))
    assert isinstance(pixel, tuple)
    assert min(pixel) >= 250


@pytest.mark.parametrize("dst", ["jpeg", "webp", "png"])
def test_conversion_drops_metadata(dst: str) -> None:
    """EXIF and text metadata of the source are not copied into a converted image."""
    src = make_image()
    exif = Image.Exif()
    exif[0x0132] = "2024:01:01 00:00:00"  # DateTime
    text = PngImagePlugin.PngInfo()
    text.add_text("comment", "made by a tool")
    fmt = "jpeg" if dst == "png" else "png"
    params: dict[str, object] = {"exif": exif.tobytes()}
    if fmt == "png":
        params["pnginfo"] = text
    data = encode(src, fmt, **params)
    out = convert(data, probe(data), dst)
    with Image.open(io.BytesIO(out)) as im:
        assert "exif" not in im.info
        assert "comment" not in im.info
        assert not im.getexif()


def test_convert_refuses_unknown_formats() -> None:
    """Only png, jpeg and webp are conversion targets."""
    data = encode(make_image(), "png")
    with pytest.raises(ValueError, match="gif"):
        convert(data, probe(data), "gif")
