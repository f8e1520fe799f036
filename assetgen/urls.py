"""Is a callback URL one the gateway will accept: HTTPS, short enough, on a public host?

The gateway refuses internal targets, and a build that learns that from a paid
submit has wasted a round trip; so we check up front, IP literals included in all
the spellings a resolver accepts (``127.1``, ``0x7f000001``, ``[::ffff:10.0.0.1]``).
Host names are not resolved: a name that resolves to a private address is the
gateway's to refuse.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
_NON_PUBLIC_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".localdomain")
_IPV4ISH = re.compile(r"^[0-9a-fA-Fx.]+$")


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _IPV4ISH.match(host) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def callback_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a callback URL, or None when it can."""
    if len(url) > MAX_URL_LENGTH:
        return f"is {len(url)} characters long; the limit is {MAX_URL_LENGTH}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme.lower() != "https":
        return "must use https://"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "has no host"
    ip = _ip_literal(host)
    if ip is not None:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            return f"points at a non-public address ({ip}); the gateway refuses internal targets"
        return None
    if host == "localhost" or host.endswith(_NON_PUBLIC_SUFFIXES):
        return f"points at a local host name ({host}); the gateway refuses internal targets"
    if "." not in host:
        return f"host `{host}` is not a public domain name"
    return None
