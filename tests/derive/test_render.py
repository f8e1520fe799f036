"""render_image, render and the recipe arithmetic: real pixels, reopened with Pillow."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from assetgen.derive.geometry import DeriveError
from assetgen.derive.render import check_recipe, output_size, render, render_image
from assetgen.errors import IntegrityError

PILLOW_FORMAT = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF", "ico": "ICO"}


def encode(im: Image.Image, fmt: str = "PNG", **params: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def gradient(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A master whose pixels differ everywhere, so codecs and resamplers do real work."""
    w, h = size
    r = Image.linear_gradient("L").resize(size)
    g = r.transpose(Image.Transpose.ROTATE_90).resize(size)
    b = Image.effect_noise(size, 30)
    im = Image.merge("RGB", (r, g, b))
    if mode == "RGBA":
        alpha = Image.new("L", size, 255)
        alpha.paste(0, (0, 0, w // 4, h))  # the left quarter fully transparent
        im.putalpha(alpha)
    elif mode != "RGB":
        im = im.convert(mode)
    return im


def recipe(output: str, **keys: Any) -> dict[str, Any]:
    ext = output.rsplit(".", 1)[-1]
    fmt = {"jpg": "jpeg"}.get(ext, ext)
    return {"output": output, "format": fmt, "strip": True, "upscale": False, **keys}


def reopen(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


@pytest.fixture(scope="module")
def rgb() -> bytes:
    return encode(gradient((400, 240)))


@pytest.fixture(scope="module")
def rgba() -> bytes:
    return encode(gradient((400, 240), "RGBA"))


@pytest.mark.parametrize(
    ("keys", "size"),
    [
        ({}, (400, 240)),
        ({"scale": 0.5}, (200, 120)),
        ({"scale": 0.3}, (120, 72)),
        ({"width": 100}, (100, 60)),
        ({"height": 60}, (100, 60)),
        ({"width": 150, "height": 150, "fit": "cover"}, (150, 150)),
        ({"width": 150, "height": 150, "fit": "contain"}, (150, 150)),
        ({"width": 150, "height": 50, "fit": "fill"}, (150, 50)),
        ({"width": 200, "height": 200, "padding": 0.1}, (200, 200)),
    ],
)
@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "avif"])
def test_sizes_and_formats(
    rgba: bytes, keys: dict[str, Any], size: tuple[int, int], fmt: str
) -> None:
    r = recipe(f"out.{fmt}", **keys)
    assert output_size((400, 240), r) == size
    assert check_recipe((400, 240), r) is None
    data = render_image(rgba, r)
    im = reopen(data)
    assert im.format == PILLOW_FORMAT[fmt]
    assert im.size == size
    assert render_image(rgba, r) == data  # deterministic


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "LA", "I;16"])
def test_master_modes(mode: str) -> None:
    master = encode(gradient((64, 48), mode))
    for fmt in ("png", "jpeg", "webp"):
        im = reopen(render_image(master, recipe(f"o.{fmt}", width=32)))
        assert im.size == (32, 24)
        assert im.mode in ("RGB", "RGBA")


def test_jpeg_flattens_alpha_onto_background(rgba: bytes) -> None:
    white = reopen(render_image(rgba, recipe("o.jpg", quality=95)))
    assert white.mode == "RGB"
    assert all(c > 240 for c in white.getpixel((5, 100)))  # type: ignore[union-attr]
    red = reopen(render_image(rgba, recipe("o.jpg", quality=95, background="#ff0000")))
    r, g, b = red.getpixel((5, 100))  # type: ignore[misc]
    assert r > 240 and g < 20 and b < 20


def test_background_makes_any_format_opaque(rgba: bytes) -> None:
    kept = reopen(render_image(rgba, recipe("o.png")))
    assert kept.mode == "RGBA" and kept.getpixel((5, 5))[3] == 0  # type: ignore[index]
    flat = reopen(render_image(rgba, recipe("o.png", background="#00ff00")))
    assert flat.mode == "RGB" and flat.getpixel((5, 5)) == (0, 255, 0)


def test_opaque_master_has_no_alpha_channel(rgb: bytes) -> None:
    assert reopen(render_image(rgb, recipe("o.png"))).mode == "RGB"
    assert reopen(render_image(rgb, recipe("o.webp"))).mode == "RGB"


def test_padding_margin_and_contain_letterbox(rgb: bytes) -> None:
    padded = reopen(render_image(rgb, recipe("o.png", width=200, height=200, padding=0.1)))
    assert padded.mode == "RGBA"
    assert padded.getpixel((5, 5))[3] == 0  # type: ignore[index]  # margin: transparent
    assert padded.getpixel((100, 100))[3] == 255  # type: ignore[index]
    opaque = reopen(
        render_image(rgb, recipe("o.png", width=200, height=200, padding=0.1, background="#0000ff"))
    )
    assert opaque.getpixel((5, 5)) == (0, 0, 255)
    boxed = reopen(
        render_image(rgb, recipe("o.jpg", width=200, height=200, fit="contain", quality=95))
    )
    assert all(c > 240 for c in boxed.getpixel((100, 5)))  # type: ignore[union-attr]


@pytest.mark.parametrize(("focus", "colour"), [("left", (255, 0, 0)), ("right", (0, 0, 255))])
def test_cover_focus(focus: str, colour: tuple[int, int, int]) -> None:
    im = Image.new("RGB", (200, 100), (255, 0, 0))
    im.paste((0, 0, 255), (100, 0, 200, 100))
    out = reopen(
        render_image(encode(im), recipe("o.png", width=50, height=50, fit="cover", focus=focus))
    )
    assert out.getpixel((25, 25)) == colour
    assert {out.getpixel((x, y)) for x in range(50) for y in range(50)} == {colour}


def test_ico_holds_each_size(rgba: bytes) -> None:
    data = render_image(rgba, recipe("favicon.ico", sizes=[16, 32, 48]))
    im = Image.open(io.BytesIO(data))
    assert im.format == "ICO"
    assert sorted(im.info["sizes"]) == [(16, 16), (32, 32), (48, 48)]
    for side in (16, 32, 48):
        im.size = (side, side)  # type: ignore[misc]  # how Pillow picks an ICO frame
        im.load()
        assert im.size == (side, side)
    assert render_image(rgba, recipe("favicon.ico", sizes=[16, 32, 48])) == data


def metadata_master() -> bytes:
    im = gradient((120, 80))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "made by hand")
    exif = Image.Exif()
    exif[0x010E] = "a description"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(im, pnginfo=info, exif=exif.tobytes(), icc_profile=icc)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "avif"])
def test_strip_drops_metadata(fmt: str) -> None:
    master = metadata_master()
    data = render_image(master, recipe(f"o.{fmt}", width=60))
    im = reopen(data)
    assert not {"exif", "icc_profile", "Comment", "xmp", "dpi"} & {
        k for k, v in im.info.items() if v
    }
    assert b"made by hand" not in data and b"a description" not in data
    kept = reopen(render_image(master, recipe(f"o.{fmt}", width=60, strip=False)))
    assert kept.info.get("icc_profile")


def test_png_output_has_no_time_or_text_chunks(rgb: bytes) -> None:
    data = render_image(rgb, recipe("o.png", width=50))
    for chunk in (b"tIME", b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"pHYs"):
        assert chunk not in data


@pytest.mark.parametrize(
    ("keys", "fragment"),
    [
        ({"width": 401}, "width 401"),
        ({"height": 300}, "height 300"),
        ({"scale": 2.0}, "scale 2"),
        ({"width": 300, "height": 300, "fit": "cover"}, "300x300 cover"),
        ({"width": 500, "height": 100, "fit": "fill"}, "500x100 fill"),
    ],
)
def test_enlarging_needs_upscale(rgb: bytes, keys: dict[str, Any], fragment: str) -> None:
    r = recipe("o.png", **keys)
    why = check_recipe((400, 240), r)
    assert why is not None and fragment in why and "upscale: true" in why
    with pytest.raises(DeriveError, match="upscale: true"):
        render_image(rgb, r)
    big = {**r, "upscale": True}
    assert check_recipe((400, 240), big) is None
    assert reopen(render_image(rgb, big)).size == output_size((400, 240), big)


def test_impossible_ico_and_webp_limits() -> None:
    assert "short edge" in (check_recipe((32, 32), recipe("f.ico", sizes=[16, 48])) or "")
    assert "256" in (check_recipe((1024, 1024), recipe("f.ico", sizes=[512])) or "")
    huge = recipe("o.webp", width=20000, upscale=True)
    assert "too large for webp" in (check_recipe((1000, 1000), huge) or "")
    assert check_recipe((100, 100), {"output": "a.html", "format": "text"}) is None
    assert output_size((100, 100), {"output": "a.html", "format": "text"}) is None


def test_render_dispatches_text_with_the_masters_size(rgb: bytes) -> None:
    text = {
        "output": "hero.picture.html",
        "format": "text",
        "template": "picture",
        "params": {"images": [{"src": "hero.png", "scale": 1.0}]},
    }
    html = render(rgb, text).decode()
    assert 'width="400" height="240"' in html
    assert reopen(render(rgb, recipe("o.png", width=40))).size == (40, 24)


def test_corrupt_master_is_an_integrity_error(rgb: bytes) -> None:
    with pytest.raises(IntegrityError):
        render_image(rgb[: len(rgb) // 2], recipe("o.png"))
    with pytest.raises(IntegrityError):
        render(b"not an image", {"output": "a.html", "format": "text", "template": "picture"})


def test_unknown_format_is_refused(rgb: bytes) -> None:
    with pytest.raises(DeriveError, match="cannot render format"):
        render_image(rgb, recipe("o.bmp"))


def test_consecutive_masters_are_not_confused() -> None:
    red = encode(Image.new("RGB", (40, 40), (255, 0, 0)))
    blue = encode(Image.new("RGB", (40, 40), (0, 0, 255)))
    for master, colour in ((red, (255, 0, 0)), (blue, (0, 0, 255)), (red, (255, 0, 0))):
        out = reopen(render_image(master, recipe("o.png", width=20)))
        assert out.getpixel((10, 10)) == colour
    same = bytes(bytearray(red))  # equal bytes, another object: the decoded master is reused
    assert render_image(same, recipe("o.png", width=20)) == render_image(
        red, recipe("o.png", width=20)
    )


def test_sixteen_bit_grey_master_is_scaled_not_clipped() -> None:
    im = Image.new("I;16", (8, 8))
    im.paste(32896, (0, 0, 8, 8))  # 128 * 257: mid grey
    master = encode(im)
    assert Image.open(io.BytesIO(master)).mode.startswith("I")
    out = reopen(render_image(master, recipe("o.png", width=4)))
    assert out.getpixel((2, 2)) == (128, 128, 128)
