"""What every HTTP provider reads from the environment, checked the same way.

A provider's config.py names its variables; this module turns them into values or
a UsageError that names the variable and says how to fix it. Header values (the API
key, an organisation or project id) must be printable ASCII without whitespace:
httpx would otherwise fail inside the request (a UnicodeEncodeError traceback, or a
protocol error that looks like a request that may have been charged) though nothing
was sent. Such a value is never echoed: it may be a key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import UsageError


def header_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent in an HTTP header as is, or None."""
    if not value.isascii():
        return "has a non-ASCII character"
    if any(c.isspace() for c in value):
        return "has a space or a line break inside"
    if not value.isprintable():
        return "has a control character"
    return None


def header_value(env: Mapping[str, str], var: str) -> str | None:
    """The optional header value ``var`` holds (surrounding whitespace stripped), or None."""
    value = (env.get(var) or "").strip()
    if not value:
        return None
    problem = header_problem(value)
    if problem is not None:
        raise UsageError(
            f"{var} {problem}, so it cannot be sent in a request header\n"
            f"  hint: set {var} to the value exactly as it was issued, without quotes or spaces"
        )
    return value


def require_key(env: Mapping[str, str], var: str, provider: str, example: str) -> str:
    """The API key ``var`` holds, checked as a header value; a UsageError when unset."""
    key = header_value(env, var)
    if key is None:
        raise UsageError(
            f"{var} is not set: the {provider} provider needs an API key\n"
            f"  hint: export {var}={example}, or build offline and free with `--provider draft`"
        )
    return key


def parse_knob(var: str, raw: str, kind: type) -> float | int | bool:
    """``raw`` as ``kind`` (int, float, or bool as 1/0, true/false, yes/no, on/off), 0 or more."""
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise UsageError(f"{var}={raw!r}: expected 1 or 0")
    try:
        value: float | int = int(raw) if kind is int else float(raw)
    except ValueError:
        raise UsageError(
            f"{var}={raw!r}: expected a {'whole ' if kind is int else ''}number"
        ) from None
    if not value >= 0:
        raise UsageError(f"{var}={raw!r}: expected 0 or more")
    return value


def read_knobs(
    env: Mapping[str, str],
    fields: Mapping[str, tuple[str, type]],
    scaled: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """``{field: value}`` of every knob of ``fields`` (``var -> (field, kind)``) set in ``env``.

    A field in ``scaled`` is read as a number of units (MB, KB: fractions allowed) and
    stored as a whole count of the smaller unit (``value * scale``).
    """
    out: dict[str, Any] = {}
    for var, (name, kind) in fields.items():
        raw = (env.get(var) or "").strip()
        if not raw:
            continue
        scale = (scaled or {}).get(name)
        if scale is None:
            out[name] = parse_knob(var, raw, kind)
        else:
            number = float(parse_knob(var, raw, float)) * scale
            out[name] = int(number) if kind is int else number
    return out


def check_base_url(url: str, var: str, local: str = "a server") -> str:
    """``url`` without a trailing slash, if it is https, or plain http to this machine."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if (parts.scheme == "https" and host) or (parts.scheme == "http" and is_loopback(host)):
        return url.strip().rstrip("/")
    raise UsageError(
        f"{var}={url!r}: use an https:// URL (plain http:// only for {local} on "
        "127.0.0.1 or localhost), so the API key never crosses a network in clear"
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
