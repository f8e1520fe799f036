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

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import envconfig
from ..envconfig import header_value, read_knobs, require_key

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
        UsageError: the key is missing, a header value (the key, the organisation or
            project) is not printable ASCII, the base URL is not acceptable, or a knob
            is not a number.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {
        "api_key": require_key(env, KEY_ENV, "openai", "sk-..."),
        "base_url": check_base_url(env.get(BASE_URL_ENV) or DEFAULT_BASE_URL),
        "organization": header_value(env, ORGANIZATION_ENV),
        "project": header_value(env, PROJECT_ENV),
    }
    values.update(read_knobs(env, _ENV_FIELDS, scaled={"max_response_bytes": 1024 * 1024}))
    return OpenAIConfig(**values)


def check_base_url(url: str) -> str:
    """``url`` without a trailing slash, if it is https, or plain http to this machine."""
    return envconfig.check_base_url(url, BASE_URL_ENV)
