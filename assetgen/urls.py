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
from urllib.parse import unquote, urlsplit

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


_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, compatible, NAT64, 6to4), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    compatible = ip in _V4_COMPATIBLE and int(ip) > 0xFFFFFF  # ::a.b.c.d, not :: or ::1
    if compatible or any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def callback_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a callback URL, or None when it can."""
    if len(url) > MAX_URL_LENGTH:
        return f"is {len(url)} characters long; the limit is {MAX_URL_LENGTH}"
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "contains spaces or control characters (percent-encode them)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme.lower() != "https":
        return "must use https://"
    host = (parts.hostname or "").rstrip(".").lower()
    problem = _host_problem(host)
    if problem.startswith("points at"):
        return f"{problem}; the gateway refuses internal targets"
    return problem or None


def _host_problem(host: str) -> str:
    """Why ``host`` is not a public host ("" when it is): IP literals in every spelling."""
    if not host:
        return "has no host"
    ip = _ip_literal(host)
    if ip is not None:
        if isinstance(ip, ipaddress.IPv6Address):
            ip = _embedded_ipv4(ip) or ip
        if not ip.is_global or ip.is_multicast:
            return f"points at a non-public address ({ip})"
        return ""
    if host == "localhost" or host.endswith(_NON_PUBLIC_SUFFIXES):
        return f"points at a local host name ({host})"
    if "." not in host:
        return f"host `{host}` is not a public domain name"
    return ""


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback IP literal (any spelling): where a local emulator runs."""
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = _ip_literal(host)
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _embedded_ipv4(ip) or ip
    return ip is not None and ip.is_loopback


def fetch_url_problem(url: str, *, loopback_ok: bool) -> str | None:
    """Why a result link from the gateway must not be fetched, or None when it may be.

    Only https to a public host: a gateway (or whoever answers in its name) must not
    make a build read link-local, private or cloud-metadata addresses. ``loopback_ok``
    (the base URL itself is loopback: the emulator) also allows http and https to
    loopback, and nothing else. Host names are not resolved, as for callback URLs.
    """
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a valid URL"
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if loopback_ok and scheme in ("http", "https") and host and is_loopback_host(host):
        return None
    if scheme != "https":
        return "does not use https://"
    return _host_problem(host) or None


REMOTE_SCHEMES = ("file", "http", "https", "s3")


def has_control_character(url: str) -> bool:
    """Whether ``url``, or what its %-escapes stand for, holds a control character: a
    ``%00`` names no folder, and an escape would reach the terminal of whoever reads it."""
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in unquote(url))


def remote_url_problem(url: str) -> tuple[str, str] | None:
    """Why ``url`` cannot be a manifest's ``cache.remote``, as (problem, hint); None if it can.

    The manifest is committed, so it may not carry credentials: each backend takes
    them from its usual place (``~/.netrc``, the AWS environment and config files).
    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "https://[::1:1/x": an unclosed IPv6 bracket
        return (
            f"is not a valid URL ({exc})",
            "use file:///shared/dir, http(s)://host/path or s3://bucket/prefix",
        )
    if has_control_character(url):
        return (
            "has a control character (or its %-escape, such as %00) in it",
            "write the URL without it",
        )
    scheme = parts.scheme.lower()
    if scheme not in REMOTE_SCHEMES:
        return (
            f"unknown scheme `{scheme or '(none)'}`",
            "use file:///shared/dir, http(s)://host/path or s3://bucket/prefix",
        )
    if "@" in parts.netloc:
        return (
            "credentials do not belong in the manifest (it is committed)",
            "drop the user:password@ part; use ~/.netrc for http(s), the AWS environment for s3",
        )
    if scheme == "file" and (parts.netloc not in ("", "localhost") or not parts.path):
        return ("a file:// URL needs an absolute path", "write it as file:///shared/dir")
    if scheme != "file" and not parts.hostname:
        return (f"the {scheme} URL names no host or bucket", f"write it as {scheme}://NAME/path")
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        return (
            "its port is not a number from 0 to 65535",
            "write it as host:PORT, or leave it out",
        )
    return None
