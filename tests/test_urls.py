"""callback_url_problem: https on a public host, whatever spelling an internal address hides in."""

from __future__ import annotations

import pytest

from assetgen.urls import MAX_URL_LENGTH, callback_url_problem

PUBLIC = [
    "https://example.com/hook",
    "https://hooks.example.co.uk:8443/a/b?c=d#e",
    "HTTPS://EXAMPLE.COM/",
    "https://example.com./trailing-dot",
    "https://8.8.8.8/hook",
    "https://1.1.1.1:443/",
    "https://[2001:4860:4860::8888]/hook",
    "https://[64:ff9b::808:808]/nat64-of-a-public-address",
    "https://xn--bcher-kva.de/",
    "https://bücher.de/",
    "https://cafe.be/hex-looking-name",
    "https://example.com/" + "a" * (MAX_URL_LENGTH - len("https://example.com/")),
]


@pytest.mark.parametrize("url", PUBLIC)
def test_public_https_urls_are_accepted(url: str) -> None:
    """An https URL on a public name or address has no problem."""
    assert callback_url_problem(url) is None


NON_PUBLIC = [
    ("https://127.0.0.1/", "127.0.0.1"),
    ("https://127.1/", "127.0.0.1"),
    ("https://2130706433/", "127.0.0.1"),
    ("https://0x7f000001/", "127.0.0.1"),
    ("https://0x7f.1/", "127.0.0.1"),
    ("https://0177.0.0.1/", "127.0.0.1"),
    ("https://10.0.0.1/", "10.0.0.1"),
    ("https://10.1/", "10.0.0.1"),
    ("https://172.16.5.4/", "172.16.5.4"),
    ("https://192.168.1.1/", "192.168.1.1"),
    ("https://100.64.0.1/", "100.64.0.1"),
    ("https://169.254.169.254/latest/meta-data", "169.254.169.254"),
    ("https://0.0.0.0/", "0.0.0.0"),
    ("https://255.255.255.255/", "255.255.255.255"),
    ("https://224.0.0.1/", "224.0.0.1"),
    ("https://192.0.2.1/", "192.0.2.1"),
    ("https://[::1]/", "::1"),
    ("https://[::]/", "::"),
    ("https://[fe80::1%25eth0]/", "fe80::1"),
    ("https://[fc00::1]/", "fc00::1"),
    ("https://[::ffff:192.168.0.1]/", "192.168.0.1"),
    ("https://[::ffff:7f00:1]/", "127.0.0.1"),
    ("https://[::127.0.0.1]/", "127.0.0.1"),
    ("https://[64:ff9b::a00:1]/", "10.0.0.1"),
    ("https://[2002:c0a8:1::]/", "192.168.0.1"),
]


@pytest.mark.parametrize(("url", "address"), NON_PUBLIC)
def test_non_public_addresses_are_refused(url: str, address: str) -> None:
    """IP literals that are not global are refused, however they are spelt, naming the address."""
    problem = callback_url_problem(url)
    assert problem is not None
    assert f"non-public address ({address})" in problem


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/",
        "https://LOCALHOST:8443/",
        "https://api.localhost/",
        "https://printer.local/",
        "https://db.internal/",
        "https://nas.home.arpa/",
        "https://router.lan/",
    ],
)
def test_local_host_names_are_refused(url: str) -> None:
    """Names that only resolve inside a network are refused without resolving them."""
    problem = callback_url_problem(url)
    assert problem is not None and "local host name" in problem


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.com/hook", "must use https://"),
        ("ftp://example.com/", "must use https://"),
        ("example.com/hook", "must use https://"),
        ("https:///hook", "has no host"),
        ("https://intranet/hook", "host `intranet` is not a public domain name"),
        ("https://example.com:99999/", "is not a valid URL"),
        ("https://exa mple.com/", "contains spaces"),
        ("https://example.com/\nX-Injected: 1", "control characters"),
        ("https://example.com/" + "a" * MAX_URL_LENGTH, f"the limit is {MAX_URL_LENGTH}"),
    ],
)
def test_malformed_urls_are_refused(url: str, message: str) -> None:
    """Wrong scheme, no host, a single-label host, bad port, spaces or length: each is named."""
    problem = callback_url_problem(url)
    assert problem is not None and message in problem
