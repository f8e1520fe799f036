"""Configuration of the evolink provider from the environment, and the commands around it."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest

from assetgen.cli import main
from assetgen.commands import cache as commands
from assetgen.errors import ProviderAuthError, UsageError
from assetgen.providers import create_provider
from assetgen.providers.evolink.config import DEFAULT_BASE_URL, config_from_env
from assetgen.providers.evolink.provider import EvoLinkProvider
from tests.providers.evolink_fakes import KEY, Script, jsonr, make_provider


def test_missing_key_is_a_usage_error_naming_the_variable() -> None:
    """No EVOLINK_API_KEY: exit 2, naming the variable and suggesting --provider draft."""
    with pytest.raises(UsageError) as info:
        config_from_env({})
    assert info.value.exit_code == 2
    assert "EVOLINK_API_KEY" in str(info.value) and "--provider draft" in str(info.value)


def test_missing_key_exits_2_from_the_cli_with_the_hint(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`assetgen build` of an evolink manifest without a key exits 2 before starting anything."""
    code = main(["-C", str(quickstart), "build"])
    err = capsys.readouterr().err
    assert code == 2
    assert "EVOLINK_API_KEY" in err and "--provider draft" in err
    assert not (quickstart / "assets").exists() and not (quickstart / "assetgen.lock").exists()


def test_defaults_and_knobs_from_the_environment() -> None:
    """The base URL defaults to the public gateway; ASSETGEN_EVOLINK_* knobs are read."""
    cfg = config_from_env(
        {
            "EVOLINK_API_KEY": KEY,
            "ASSETGEN_EVOLINK_POLL_INTERVAL": "0.5",
            "ASSETGEN_EVOLINK_TASK_DEADLINE": "120",
            "ASSETGEN_EVOLINK_TASK_RETRIES": "0",
            "ASSETGEN_EVOLINK_RETRY_UNKNOWN_ERROR": "no",
            "ASSETGEN_EVOLINK_MAX_DOWNLOAD_MB": "8",
        }
    )
    assert cfg.base_url == DEFAULT_BASE_URL == "https://api.evolink.ai"
    assert cfg.poll_interval == 0.5 and cfg.task_deadline == 120 and cfg.task_retries == 0
    assert cfg.retry_unknown_error is False and cfg.max_download_bytes == 8 * 1024 * 1024


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("ASSETGEN_EVOLINK_POLL_INTERVAL", "fast"),
        ("ASSETGEN_EVOLINK_TASK_RETRIES", "1.5"),
        ("ASSETGEN_EVOLINK_TASK_DEADLINE", "-1"),
    ],
)
def test_bad_knobs_are_usage_errors(var: str, value: str) -> None:
    """A knob that is not a number (or negative) is a usage error naming it."""
    with pytest.raises(UsageError, match=var):
        config_from_env({"EVOLINK_API_KEY": KEY, var: value})


@pytest.mark.parametrize(
    "url",
    [
        "https://api.evolink.ai/",
        "https://gateway.example.com:8443",
        "http://127.0.0.1:8787",
        "http://localhost:9000/",
        "http://[::1]:8000",
    ],
)
def test_https_and_loopback_http_bases_are_accepted(url: str) -> None:
    """An https base, or plain http to this machine (an emulator), is accepted without its trailing slash."""
    cfg = config_from_env({"EVOLINK_API_KEY": KEY, "EVOLINK_BASE_URL": url})
    assert cfg.base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://api.evolink.ai", "http://10.0.0.5:8787", "ftp://x", "api.evolink.ai"]
)
def test_plain_http_to_another_host_is_refused(url: str) -> None:
    """http:// to anything but loopback is refused: the key would cross a network in clear."""
    with pytest.raises(UsageError, match="EVOLINK_BASE_URL") as info:
        config_from_env({"EVOLINK_API_KEY": KEY, "EVOLINK_BASE_URL": url})
    assert KEY not in str(info.value)


def test_registry_creates_the_evolink_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """`evolink` is a registered provider, configured from the environment."""
    import anyio

    monkeypatch.setenv("EVOLINK_API_KEY", KEY)
    provider = create_provider("evolink")
    assert isinstance(provider, EvoLinkProvider) and provider.name == "evolink"
    anyio.run(provider.aclose)


def credits_provider(*replies: httpx.Response) -> EvoLinkProvider:
    return make_provider(Script().on("GET", "/v1/credits", *replies).handler)


def test_credits_command_shows_key_and_account_balances() -> None:
    """`assetgen credits` prints the key's and the account's remaining and used credits."""
    body = {
        "success": True,
        "data": {
            "token": {"remaining_credits": 99.5, "used_credits": 0.5, "unlimited_credits": False},
            "user": {"remaining_credits": 1000.0, "used_credits": 12.3},
        },
    }
    out = io.StringIO()
    assert commands.credits(out=out, provider=credits_provider(jsonr(200, body))) == 0
    text = out.getvalue()
    assert "this key:  99.50 remaining, 0.50 used" in text
    assert "account:   1000.00 remaining, 12.30 used" in text
    assert KEY not in text


def test_credits_command_unlimited_key_and_json() -> None:
    """An unlimited key says so; --json prints the gateway's data object."""
    body = {"data": {"token": {"unlimited_credits": True, "used_credits": 3}, "user": {}}}
    out = io.StringIO()
    commands.credits(out=out, provider=credits_provider(jsonr(200, body)))
    assert "this key:  unlimited, 3.00 used" in out.getvalue()
    out = io.StringIO()
    commands.credits(as_json=True, out=out, provider=credits_provider(jsonr(200, body)))
    assert '"unlimited_credits": true' in out.getvalue()


def test_credits_command_with_a_bad_key_is_an_auth_error() -> None:
    """A 401 on /v1/credits raises the auth error (exit 2)."""
    bad = jsonr(401, {"error": {"code": 401, "message": "Invalid token", "type": ""}})
    with pytest.raises(ProviderAuthError) as info:
        commands.credits(out=io.StringIO(), provider=credits_provider(bad))
    assert info.value.exit_code == 2


def test_credits_command_without_a_key_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """`assetgen credits` with no key exits 2 with the hint."""
    assert main(["credits"]) == 2
    assert "EVOLINK_API_KEY" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["sk-evo-ключ0123456789", "sk-evo-a\nb0123456789", "sk-evo-a b"])
def test_a_key_that_cannot_be_sent_is_a_usage_error_not_echoed(value: str) -> None:
    with pytest.raises(UsageError, match="EVOLINK_API_KEY") as info:
        config_from_env({"EVOLINK_API_KEY": value})
    assert value not in str(info.value)
