"""The openai provider's configuration: the key, the base URL, the optional headers and knobs.

Environment (all optional except the key; times in seconds):

=====================================  =========================  ===============================
``OPENAI_API_KEY``                     -                          required; never logged or stored
``OPENAI_BASE_URL``                    https://api.openai.com/v1  https, or http to 127.0.0.1
``OPENAI_ORGANIZATION``                -                          sent as ``OpenAI-Organization``
``OPENAI_PROJECT``                     -                          sent as ``OpenAI-Project``
``ASSETGEN_OPENAI_TIMEOUT``            300                        one generation, response included
``ASSETGEN_OPENAI_CONNECT_TIMEOUT``    10                         TCP/TLS connect
``ASSETGEN_OPENAI_HTTP_RETRIES``       5                          retries of unsent requests, 429s
``ASSETGEN_OPENAI_AMBIGUOUS_RETRIES``  0                          retries after a sent request got
                                                                  no answer (each may pay twice)
``ASSETGEN_OPENAI_RETRY_AFTER_MAX``    30                         cap on an honoured Retry-After
``ASSETGEN_OPENAI_BACKOFF_BASE``       1                          first retry wait (doubles)
``ASSETGEN_OPENAI_BACKOFF_MAX``        30                         longest retry wait
``ASSETGEN_OPENAI_MAX_RESPONSE_MB``    96                         refuse larger responses
``ASSETGEN_OPENAI_MAX_CONNECTIONS``    64                         HTTP requests at once
=====================================  =========================  ===============================
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ...errors import UsageError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
ORGANIZATION_ENV = "OPENAI_ORGANIZATION"
PROJECT_ENV = "OPENAI_PROJECT"


@dataclass(frozen=True)
class OpenAIConfig:
    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    organization: str | None = None
    project: str | None = None
    timeout: float = 300.0  # gpt-image-1 at high quality takes up to about two minutes
    connect_timeout: float = 10.0
    http_retries: int = 5
    ambiguous_retries: int = 0  # no Idempotency-Key on this API: a retry may pay twice
    retry_after_max: float = 30.0
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    max_response_bytes: int = 96 * 1024 * 1024  # base64 of a 4K PNG fits comfortably
    max_connections: int = 64


_ENV_FIELDS: dict[str, tuple[str, type]] = {
    "ASSETGEN_OPENAI_TIMEOUT": ("timeout", float),
    "ASSETGEN_OPENAI_CONNECT_TIMEOUT": ("connect_timeout", float),
    "ASSETGEN_OPENAI_HTTP_RETRIES": ("http_retries", int),
    "ASSETGEN_OPENAI_AMBIGUOUS_RETRIES": ("ambiguous_retries", int),
    "ASSETGEN_OPENAI_RETRY_AFTER_MAX": ("retry_after_max", float),
    "ASSETGEN_OPENAI_BACKOFF_BASE": ("backoff_base", float),
    "ASSETGEN_OPENAI_BACKOFF_MAX": ("backoff_max", float),
    "ASSETGEN_OPENAI_MAX_RESPONSE_MB": ("max_response_bytes", int),
    "ASSETGEN_OPENAI_MAX_CONNECTIONS": ("max_connections", int),
}


def config_from_env(env: Mapping[str, str] | None = None) -> OpenAIConfig:
    """The configuration from ``OPENAI_*`` and ``ASSETGEN_OPENAI_*`` variables.

    Raises:
        UsageError: the key is missing, the base URL is not acceptable, or a knob is not a number.
    """
    env = os.environ if env is None else env
    key = (env.get(KEY_ENV) or "").strip()
    if not key:
        raise UsageError(
            f"{KEY_ENV} is not set: the openai provider needs an API key\n"
            f"  hint: export {KEY_ENV}=sk-..., or build offline and free with `--provider draft`"
        )
    values: dict[str, Any] = {
        "api_key": key,
        "base_url": check_base_url(env.get(BASE_URL_ENV) or DEFAULT_BASE_URL),
        "organization": (env.get(ORGANIZATION_ENV) or "").strip() or None,
        "project": (env.get(PROJECT_ENV) or "").strip() or None,
    }
    for var, (name, kind) in _ENV_FIELDS.items():
        raw = (env.get(var) or "").strip()
        if raw:
            try:
                value: float | int = int(raw) if kind is int else float(raw)
            except ValueError:
                raise UsageError(f"{var}={raw!r}: expected a number") from None
            if not value >= 0:
                raise UsageError(f"{var}={raw!r}: expected 0 or more")
            values[name] = value
    if "max_response_bytes" in values:
        values["max_response_bytes"] *= 1024 * 1024
    return OpenAIConfig(**values)


def check_base_url(url: str) -> str:
    """``url`` without a trailing slash, if it is https, or plain http to this machine."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if (parts.scheme == "https" and host) or (parts.scheme == "http" and _is_loopback(host)):
        return url.strip().rstrip("/")
    raise UsageError(
        f"{BASE_URL_ENV}={url!r}: use an https:// URL (plain http:// only for a server on "
        "127.0.0.1 or localhost), so the API key never crosses a network in clear"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
