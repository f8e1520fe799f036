"""The params of a text recipe, checked when the manifest loads.

The templates (templates.py) read a few params each; a wrong type there (a number
where text is expected, a list of non-strings, a misspelt param) used to surface in the
middle of a build, or not at all (an unknown param was silently ignored). Here every
param a template reads is held to its type before a plan is made, and the first
problem comes back with the path inside ``params`` it is about, so the manifest can
point at the line. The templates keep their own checks: a recipe can also come from
a memo or lock, which are hostile too.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .templates import CONTENTS_KEYS, EXTENSIONS, MANIFEST_ORDER

Where = tuple[str | int, ...]  # a path below `params`: ("images", 2, "src")

MAX_PICTURE_EDGE = 16384
# Web app manifest members (W3C Web Application Manifest and its companions) that the
# template passes through as written, besides the ones it orders itself, with the JSON
# type each must have ("texts": a list of text).
MANIFEST_EXTRAS = {
    "categories": "texts",
    "dir": "text",
    "display_override": "texts",
    "file_handlers": "list",
    "handle_links": "text",
    "iarc_rating_id": "text",
    "launch_handler": "mapping",
    "note_taking": "mapping",
    "prefer_related_applications": "bool",
    "protocol_handlers": "list",
    "related_applications": "list",
    "scope_extensions": "list",
    "screenshots": "list",
    "share_target": "mapping",
    "shortcuts": "list",
}
MANIFEST_TEXT = tuple(k for k in MANIFEST_ORDER if k != "icons")
DISPLAYS = ("fullscreen", "standalone", "minimal-ui", "browser")
ORIENTATIONS = (
    "any",
    "natural",
    "landscape",
    "landscape-primary",
    "landscape-secondary",
    "portrait",
    "portrait-primary",
    "portrait-secondary",
)
ICON_KEYS = ("src", "sizes", "type", "purpose")
PURPOSES = ("any", "maskable", "monochrome")
PICTURE_KEYS = ("images", "base", "alt", "sizes", "loading")
PICTURE_IMAGE_KEYS = ("src", "scale", "width", "height")


@dataclass(frozen=True, slots=True)
class ParamProblem:
    """What is wrong (``message`` names the param), where below ``params``, and a hint."""

    where: Where
    message: str
    hint: str | None = None


class _Bad(Exception):
    def __init__(self, where: Where, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.problem = ParamProblem(where, message, hint)


def _name(where: Where) -> str:
    out = "params"
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return f"`{out}`"


def _near(value: object, choices: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(str(value), choices, n=1)
    return f"did you mean `{close[0]}`?" if close else None


def _keys(where: Where, value: Mapping[str, Any], known: Sequence[str]) -> None:
    for key in value:
        if key not in known:
            raise _Bad(
                (*where, key),
                f"unknown param {_name((*where, key))}",
                _near(key, known) or f"known here: {', '.join(known)}",
            )


def _text(where: Where, value: Any, *, empty: bool = True) -> str:
    if not isinstance(value, str):
        hint = 'quote it: "..."' if not isinstance(value, (list, dict)) else "give one text value"
        raise _Bad(where, f"{_name(where)} must be text, not {value!r}", hint)
    if not empty and not value:
        raise _Bad(where, f"{_name(where)} must not be empty", "give it a value or leave it out")
    return value


def _choice(where: Where, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise _Bad(
            where,
            f"{_name(where)} must be one of {', '.join(choices)}, not {value!r}",
            _near(value, choices) or f"pick one of {', '.join(choices)}",
        )


def _list(where: Where, value: Any, what: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _Bad(where, f"{_name(where)} must list {what}", "write a list: [...]")
    return value


def _mapping(where: Where, value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(where, f"{_name(where)} must be a mapping", f"write {{...}} with {what}")
    return value


def _no_variables(where: Where, value: Any) -> None:
    if isinstance(value, str) and "${" in value:
        raise _Bad(
            where,
            f"{_name(where)} holds an unexpanded variable in {value!r}",
            "write `$$` for a literal `$`",
        )
    if isinstance(value, Mapping):
        for key, item in value.items():
            _no_variables((*where, str(key)), item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _no_variables((*where, i), item)


def _contents(params: Mapping[str, Any]) -> None:
    _keys((), params, ("images",))
    if "images" not in params:
        return  # the built-in slots
    images = _list(("images",), params["images"], "the icon slots, like Xcode's own")
    for i, entry in enumerate(images):
        at: Where = ("images", i)
        entry = _mapping(at, entry, "filename, idiom, size, scale ...")
        _keys(at, entry, sorted(CONTENTS_KEYS))
        for key, value in entry.items():
            _text((*at, key), value)
        name = entry.get("filename", "")
        if "/" in name or "\\" in name:
            raise _Bad(
                (*at, "filename"),
                f"{_name((*at, 'filename'))} {name!r} must be a bare file name",
                "Contents.json names files in its own .appiconset folder",
            )


def _webmanifest(params: Mapping[str, Any]) -> None:
    _keys((), params, (*MANIFEST_ORDER, *MANIFEST_EXTRAS))
    for key in MANIFEST_TEXT:
        if key in params:
            _text((key,), params[key])
    if "display" in params:
        _choice(("display",), params["display"], DISPLAYS)
    if "orientation" in params:
        _choice(("orientation",), params["orientation"], ORIENTATIONS)
    for key, kind in MANIFEST_EXTRAS.items():
        if key in params:
            _typed((key,), params[key], kind)
    icons = params.get("icons", [])
    if not isinstance(icons, list):
        raise _Bad(("icons",), f"{_name(('icons',))} must be a list", "like [{src: icon.png}]")
    for i, icon in enumerate(icons):
        at: Where = ("icons", i)
        icon = _mapping(at, icon, "src, sizes, type, purpose")
        _keys(at, icon, ICON_KEYS)
        if "src" not in icon:
            raise _Bad(at, f"{_name(at)} needs a `src`", "a path relative to the manifest's folder")
        _text((*at, "src"), icon["src"], empty=False)
        if "sizes" not in icon:
            raise _Bad(at, f"{_name(at)} needs `sizes`", 'like "192x192"')
        _text((*at, "sizes"), icon["sizes"], empty=False)
        if "type" in icon:
            _text((*at, "type"), icon["type"])
        if "purpose" in icon:
            for word in _text((*at, "purpose"), icon["purpose"]).split():
                _choice((*at, "purpose"), word, PURPOSES)


def _typed(where: Where, value: Any, kind: str) -> None:
    if kind == "text":
        _text(where, value)
    elif kind == "bool" and not isinstance(value, bool):
        raise _Bad(
            where,
            f"{_name(where)} must be true or false, not {value!r}",
            "write true or false, unquoted",
        )
    elif kind == "mapping":
        _mapping(where, value, "the member as the Web App Manifest defines it")
    elif kind in ("list", "texts"):
        if not isinstance(value, list):
            raise _Bad(where, f"{_name(where)} must be a list", "write a list: [...]")
        if kind == "texts":
            for i, item in enumerate(value):
                _text((*where, i), item)


def _number(where: Where, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 16:
        raise _Bad(
            where,
            f"{_name(where)} must be a number above 0 and at most 16, not {value!r}",
            "a fraction of the master's width, like 0.5",
        )


def _edge(where: Where, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PICTURE_EDGE:
        raise _Bad(
            where,
            f"{_name(where)} must be a whole number from 1 to {MAX_PICTURE_EDGE}, not {value!r}",
            "pixels, as in the image's own recipe",
        )


def _picture(params: Mapping[str, Any]) -> None:
    _keys((), params, PICTURE_KEYS)
    for key in ("base", "alt", "sizes"):
        if key in params:
            _text((key,), params[key])
    if "loading" in params:
        _choice(("loading",), params["loading"], ("lazy", "eager"))
    if "images" not in params:
        raise _Bad((), "`params` needs `images`", "like [{src: hero-50.webp, scale: 0.5}]")
    images = _list(("images",), params["images"], "the files, like [{src: hero-50.webp}]")
    for i, image in enumerate(images):
        at: Where = ("images", i)
        image = _mapping(at, image, "src and one of scale, width, height")
        _keys(at, image, PICTURE_IMAGE_KEYS)
        if "src" not in image:
            raise _Bad(at, f"{_name(at)} needs a `src`", "the image's path under output_dir")
        src = _text((*at, "src"), image["src"], empty=False)
        ext = src.rsplit("/", 1)[-1].rpartition(".")[2].lower() if "." in src else ""
        if ext not in EXTENSIONS:
            raise _Bad(
                (*at, "src"),
                f"{_name((*at, 'src'))} {src!r} is not a png, jpeg, webp or avif file",
                "a <picture> lists images: end the path in .png, .jpg, .webp or .avif",
            )
        if "scale" in image:
            _number((*at, "scale"), image["scale"])
            if "width" in image or "height" in image:
                raise _Bad(
                    (*at, "scale"),
                    f"{_name(at)}: give `scale` or `width`/`height`, not both",
                    "the snippet computes the other from the master's size",
                )
        for key in ("width", "height"):
            if key in image:
                _edge((*at, key), image[key])


_CHECKS = {"appiconset-contents": _contents, "webmanifest": _webmanifest, "picture": _picture}


def params_problem(template: str, params: Mapping[str, Any]) -> ParamProblem | None:
    """The first problem with ``params`` (already expanded) for ``template``, or None."""
    check = _CHECKS.get(template)
    if check is None:
        return None  # the recipe check names unknown templates
    try:
        _no_variables((), params)
        check(params)
    except _Bad as bad:
        return bad.problem
    return None
