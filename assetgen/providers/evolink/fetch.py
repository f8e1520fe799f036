"""The rules of downloading a result link: where it may point, and how slow it may be.

A result link comes from the gateway's reply, so it is hostile input: fetched as
is, it would let whoever answers in the gateway's name make a build read a cloud
metadata service (169.254.169.254) or a private network, and a server sending one
byte a second would hold a build forever (each byte resets a read timeout). So
every hop, redirects included, is checked before it is requested, and each
download has a total deadline and a minimum average rate. Error messages name a
link by its origin only: its path and query may carry a token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from ...urls import fetch_url_problem, is_loopback_host

MAX_REDIRECTS = 5
RATE_GRACE = 10.0  # seconds before the minimum rate applies: connect, TLS, first bytes


class UnsafeLink(Exception):
    """The link, or a redirect on its way, points where assetgen does not fetch from."""


class DownloadTooSlow(Exception):
    """The download ran past its deadline or below the minimum rate."""


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what a message may show of a link."""
    parts = urlsplit(url)
    try:
        netloc = parts.hostname or ""
        if ":" in netloc:
            netloc = f"[{netloc}]"
        if parts.port is not None:
            netloc += f":{parts.port}"
    except ValueError:
        netloc = "?"
    return f"{parts.scheme}://{netloc}"


def check_link(url: str, base_url: str, *, redirected: bool = False) -> None:
    """Raise ``UnsafeLink`` unless ``url`` may be fetched for a gateway at ``base_url``."""
    loopback_ok = is_loopback_host(urlsplit(base_url).hostname or "")
    problem = fetch_url_problem(url, loopback_ok=loopback_ok)
    if problem is not None:
        via = "a redirect to " if redirected else ""
        where = origin_of(url) if "://" in url else repr(url[:40])
        raise UnsafeLink(f"{via}{where} {problem}")


def redirect_target(response: httpx.Response) -> str | None:
    """The absolute URL a redirect answer points to, or None when it is not one."""
    if not response.is_redirect:
        return None
    return str(response.url.join(response.headers["location"]))


class RateGuard:
    """Fails a download past ``deadline`` seconds, or slower than ``min_rate`` bytes/s on
    average once ``RATE_GRACE`` has passed. Checked as bytes arrive; between arrivals
    the read timeout bounds the wait."""

    def __init__(self, deadline: float, min_rate: float, now: float) -> None:
        self.deadline = deadline
        self.min_rate = min_rate
        self.start = now

    def check(self, received: int, now: float) -> None:
        elapsed = now - self.start
        if elapsed > self.deadline:
            raise DownloadTooSlow(
                f"not done after {self.deadline:g}s ({received} bytes so far); "
                "ASSETGEN_EVOLINK_DOWNLOAD_DEADLINE sets the limit"
            )
        if elapsed > RATE_GRACE and received < self.min_rate * elapsed:
            raise DownloadTooSlow(
                f"{received} bytes in {elapsed:.0f}s, below the minimum of "
                f"{self.min_rate / 1024:g} KB/s (ASSETGEN_EVOLINK_DOWNLOAD_MIN_KBPS)"
            )
