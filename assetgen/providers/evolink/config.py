"""The evolink provider's configuration: environment knobs, the base URL and its checks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import envconfig
from ..envconfig import read_knobs, require_key

DEFAULT_BASE_URL = "https://api.evolink.ai"


KEY_ENV = "EVOLINK_API_KEY"


BASE_URL_ENV = "EVOLINK_BASE_URL"


@dataclass(frozen=True)
class EvoLinkConfig:
    """Everything tunable about talking to the gateway; ``config_from_env`` fills it.

    The defaults follow EvoLink's own published clients: polls every few
    seconds, 30 s reads, 60 s for the submit, a 15-minute task deadline.
    """

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    poll_interval: float = 3.0  # first steady poll period; grows 1.5x per poll
    max_poll_interval: float = 15.0
    first_poll_max: float = 10.0  # cap on the first wait taken from task_info.estimated_time
    task_deadline: float = 900.0  # per task, from submit (or resume) to completed
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # polls, credits and downloads
    submit_timeout: float = 60.0
    http_retries: int = 5  # for reads (polls, downloads) and unsent submits
    submit_ambiguous_retries: int = 1  # same Idempotency-Key; each one a possible double charge
    task_retries: int = 2  # new tasks after a retryable failure, a lost task or an expired link
    retry_unknown_error: bool = (
        True  # failed tasks are refunded, so retrying costs time, not credits
    )
    retry_after_max: float = 30.0
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    max_download_bytes: int = 64 * 1024 * 1024
    download_deadline: float = 300.0  # per download, all redirects included
    download_min_rate: float = 16 * 1024.0  # bytes/s on average, after the first seconds
    initial_in_flight: float = 4.0
    max_in_flight: float = 256.0
    max_connections: int = 16  # HTTP requests at once (and pooled keep-alive connections)


# env var -> (field, parser); documented in the evolink module docstring.
_ENV_FIELDS: dict[str, tuple[str, type]] = {
    "ASSETGEN_EVOLINK_POLL_INTERVAL": ("poll_interval", float),
    "ASSETGEN_EVOLINK_MAX_POLL_INTERVAL": ("max_poll_interval", float),
    "ASSETGEN_EVOLINK_FIRST_POLL_MAX": ("first_poll_max", float),
    "ASSETGEN_EVOLINK_TASK_DEADLINE": ("task_deadline", float),
    "ASSETGEN_EVOLINK_CONNECT_TIMEOUT": ("connect_timeout", float),
    "ASSETGEN_EVOLINK_READ_TIMEOUT": ("read_timeout", float),
    "ASSETGEN_EVOLINK_SUBMIT_TIMEOUT": ("submit_timeout", float),
    "ASSETGEN_EVOLINK_HTTP_RETRIES": ("http_retries", int),
    "ASSETGEN_EVOLINK_TASK_RETRIES": ("task_retries", int),
    "ASSETGEN_EVOLINK_RETRY_UNKNOWN_ERROR": ("retry_unknown_error", bool),
    "ASSETGEN_EVOLINK_RETRY_AFTER_MAX": ("retry_after_max", float),
    "ASSETGEN_EVOLINK_BACKOFF_BASE": ("backoff_base", float),
    "ASSETGEN_EVOLINK_BACKOFF_MAX": ("backoff_max", float),
    "ASSETGEN_EVOLINK_MAX_DOWNLOAD_MB": ("max_download_bytes", int),
    "ASSETGEN_EVOLINK_DOWNLOAD_DEADLINE": ("download_deadline", float),
    "ASSETGEN_EVOLINK_DOWNLOAD_MIN_KBPS": ("download_min_rate", float),
    "ASSETGEN_EVOLINK_INITIAL_IN_FLIGHT": ("initial_in_flight", float),
    "ASSETGEN_EVOLINK_MAX_IN_FLIGHT": ("max_in_flight", float),
    "ASSETGEN_EVOLINK_MAX_CONNECTIONS": ("max_connections", int),
}


def config_from_env(env: Mapping[str, str] | None = None) -> EvoLinkConfig:
    """The configuration from ``EVOLINK_*`` and ``ASSETGEN_EVOLINK_*`` variables.

    Raises:
        UsageError: the key is missing or not a header value, the base URL is not
            acceptable, or a knob is not a number.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {
        "api_key": require_key(env, KEY_ENV, "evolink", "sk-evo-..."),
        "base_url": check_base_url(env.get(BASE_URL_ENV) or DEFAULT_BASE_URL),
    }
    values.update(
        read_knobs(
            env,
            _ENV_FIELDS,
            scaled={"max_download_bytes": 1024 * 1024, "download_min_rate": 1024},
        )
    )
    return EvoLinkConfig(**values)


def check_base_url(url: str) -> str:
    """``url`` without a trailing slash, if it is https, or plain http to this machine (emulators)."""
    return envconfig.check_base_url(url, BASE_URL_ENV, "a local emulator")
