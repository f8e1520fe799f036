"""The evolink provider's configuration: environment knobs, the base URL and its checks."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ...errors import UsageError

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
        UsageError: the key is missing, the base URL is not acceptable, or a knob is not a number.
    """
    env = os.environ if env is None else env
    key = (env.get(KEY_ENV) or "").strip()
    if not key:
        raise UsageError(
            f"{KEY_ENV} is not set: the evolink provider needs an API key\n"
            f"  hint: export {KEY_ENV}=sk-evo-..., or build offline and free with `--provider draft`"
        )
    values: dict[str, Any] = {
        "api_key": key,
        "base_url": check_base_url(env.get(BASE_URL_ENV) or DEFAULT_BASE_URL),
    }
    for var, (name, kind) in _ENV_FIELDS.items():
        raw = (env.get(var) or "").strip()
        if raw:
            values[name] = _parse_knob(var, raw, kind)
    if "max_download_bytes" in values:
        values["max_download_bytes"] *= 1024 * 1024
    if "download_min_rate" in values:
        values["download_min_rate"] *= 1024
    return EvoLinkConfig(**values)


def _parse_knob(var: str, raw: str, kind: type) -> float | int | bool:
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


def check_base_url(url: str) -> str:
    """``url`` without a trailing slash, if it is https, or plain http to this machine (emulators)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return url.strip().rstrip("/")
    if parts.scheme == "http" and _is_loopback(host):
        return url.strip().rstrip("/")
    raise UsageError(
        f"{BASE_URL_ENV}={url!r}: use an https:// URL (plain http:// only for a local "
        "emulator on 127.0.0.1 or localhost), so the API key never crosses a network in clear"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
