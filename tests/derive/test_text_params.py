"""A text recipe's `params` are held to what its template reads when the manifest loads:
each wrong type or unknown param is a located error with a hint, never a traceback
in the middle of a build."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgen.cli import main
from assetgen.errors import ManifestError
from assetgen.manifest.resolve import parse_manifest

PICTURE = "{output: p.html, template: picture, params: "
MANIFEST = "{output: m.webmanifest, template: webmanifest, params: "
CONTENTS = "{output: Contents.json, template: appiconset-contents, params: "


def manifest(derive: str) -> str:
    return f"version: 1\nprovider: draft\nassets:\n  hero:\n    prompt: a\n    derive: [{derive}]\n"


def problem(derive: str) -> str:
    with pytest.raises(ManifestError) as info:
        parse_manifest(manifest(derive).encode(), "assetgen.yaml")
    return str(info.value)


@pytest.mark.parametrize(
    ("params", "expected", "needle"),
    [
        (
            "{images: [{src: a.webp, scale: big}]}}",
            "`params.images[0].scale` must be a number",
            "big",
        ),
        (
            "{images: [{src: a.webp, width: 1.5}]}}",
            "`params.images[0].width` must be a whole",
            "1.5",
        ),
        ("{images: [{src: a.webp, scale: 0.5, width: 9}]}}", "not both", "0.5"),
        ("{images: [{src: 7}]}}", "`params.images[0].src` must be text", "7"),
        ("{images: [{src: a.gif}]}}", "is not a png, jpeg, webp or avif file", "a.gif"),
        ("{images: [{scale: 0.5}]}}", "`params.images[0]` needs a `src`", "{scale"),
        ("{images: [{src: a.webp, scael: 1}]}}", "unknown param `params.images[0].scael`", "1}"),
        ("{images: [a.webp]}}", "`params.images[0]` must be a mapping", "a.webp"),
        ("{images: a.webp}}", "`params.images` must list the files", "a.webp"),
        ("{alt: x}}", "`params` needs `images`", "{alt"),
        ("{images: [{src: a.webp}], alt: 3}}", "`params.alt` must be text", "3}"),
        ("{images: [{src: a.webp}], sizes: [1, 2]}}", "`params.sizes` must be text", "[1, 2]"),
        ("{images: [{src: a.webp}], loading: soon}}", "`params.loading` must be one of", "soon"),
        ("{images: [{src: a.webp}], lodaing: lazy}}", "unknown param `params.lodaing`", "lazy"),
        ("{images: [{src: a.webp}], alt: '$${x}'}}", "unexpanded variable", "'$$"),
    ],
)
def test_picture_params(params: str, expected: str, needle: str) -> None:
    _located(PICTURE + params, expected, needle)


@pytest.mark.parametrize(
    ("params", "expected", "needle"),
    [
        ("{name: 5}}", "`params.name` must be text", "5}"),
        ("{theme_color: [1]}}", "`params.theme_color` must be text", "[1]"),
        ("{display: standalon}}", "`params.display` must be one of", "standalon"),
        ("{theme_colour: '#fff'}}", "unknown param `params.theme_colour`", "'#fff'"),
        ("{icons: icon.png}}", "`params.icons` must be a list", "icon.png"),
        (
            "{icons: [{src: a.png, sizes: [1, 2]}]}}",
            "`params.icons[0].sizes` must be text",
            "[1, 2]",
        ),
        ("{icons: [{src: a.png}]}}", "`params.icons[0]` needs `sizes`", "{src"),
        ("{icons: [{sizes: 1x1}]}}", "`params.icons[0]` needs a `src`", "{sizes"),
        ("{icons: [{src: a.png, sizes: 1x1, purpose: mask}]}}", "must be one of", "mask}"),
        ("{icons: [{src: a.png, sizes: 1x1, kind: x}]}}", "unknown param", "x}"),
        ("{categories: [art, 3]}}", "`params.categories[1]` must be text", "3]"),
        ("{categories: art}}", "`params.categories` must be a list", "art"),
        ("{prefer_related_applications: 'no'}}", "must be true or false", "'no'"),
        ("{share_target: [x]}}", "`params.share_target` must be a mapping", "[x]"),
    ],
)
def test_webmanifest_params(params: str, expected: str, needle: str) -> None:
    _located(MANIFEST + params, expected, needle)


@pytest.mark.parametrize(
    ("params", "expected", "needle"),
    [
        ("{images: [{filename: a.png, scale: 2}]}}", "`params.images[0].scale` must be text", "2}"),
        ("{images: [1, 2]}}", "`params.images[0]` must be a mapping", "1, 2"),
        ("{images: []}}", "`params.images` must list the icon slots", "[]"),
        ("{images: [{filename: a/b.png}]}}", "must be a bare file name", "a/b.png"),
        ("{images: [{filename: a.png, idoim: x}]}}", "unknown param", "x}"),
        ("{imgs: []}}", "unknown param `params.imgs`", "[]"),
    ],
)
def test_appiconset_contents_params(params: str, expected: str, needle: str) -> None:
    _located(CONTENTS + params, expected, needle)


def _located(derive: str, expected: str, needle: str) -> None:
    """The error names the param, points at its line and column, and gives a hint."""
    message = problem(derive)
    first = message.splitlines()[0]
    line = manifest(derive).splitlines()[5]
    col = line.index(needle) + 1
    assert first.startswith(f"assetgen.yaml:6:{col}: "), (first, col)
    assert expected in first
    assert "\n  hint: " in message
    assert "Traceback" not in message


def test_a_project_preset_with_bad_params_is_located_at_its_use() -> None:
    """A preset's text recipe is reported at the `{preset: NAME}` item, naming the preset."""
    text = (
        "version: 1\npresets:\n  snip:\n"
        "    - {output: s.html, template: picture, params: {images: [{src: a.webp, scale: x}]}}\n"
        "assets:\n  hero:\n    prompt: a\n    derive: [{preset: snip}]\n"
    )
    with pytest.raises(ManifestError) as info:
        parse_manifest(text.encode(), "assetgen.yaml")
    assert str(info.value).startswith("assetgen.yaml:8:")
    assert "preset `snip`: `params.images[0].scale` must be a number" in str(info.value)


def test_builtin_presets_and_known_members_pass() -> None:
    """The built-in text recipes and the manifest members the template passes through load."""
    derive = (
        "{preset: favicon}, {preset: srcset}, {preset: ios-appicon}, "
        + MANIFEST
        + "{name: x, categories: [art], display: fullscreen, orientation: portrait, "
        "prefer_related_applications: false, shortcuts: [{name: a, url: /a}], icons: "
        "[{src: a.png, sizes: 1x1, purpose: any maskable}]}}"
    )
    parse_manifest(manifest(derive).encode(), "assetgen.yaml")


def test_plan_reports_bad_params_as_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the CLI: exit 2 (a manifest error), the located message, no traceback."""
    (tmp_path / "assetgen.yaml").write_text(
        manifest(PICTURE + "{images: [{src: a.webp, scale: big}]}}")
    )
    assert main(["-C", str(tmp_path), "build", "--provider", "draft"]) == 2
    err = capsys.readouterr().err
    assert "assetgen.yaml:6:" in err and "params.images[0].scale" in err
    assert "Traceback" not in err
