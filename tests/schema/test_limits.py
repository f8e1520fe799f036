"""schema.limits: the size caps, and the environment variables that move them."""

from __future__ import annotations

import pytest

from assetgen.errors import UsageError
from assetgen.schema import limits


def test_the_defaults_without_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(limits.MAX_BYTES_ENV, raising=False)
    monkeypatch.delenv(limits.MAX_ASSETS_ENV, raising=False)
    assert limits.max_manifest_bytes() == limits.MAX_MANIFEST_BYTES
    assert limits.max_assets() == limits.MAX_ASSETS


@pytest.mark.parametrize(("raw", "value"), [("10", 10), (" 2_000 ", 2000), ("", 100_000)])
def test_a_positive_number_is_taken(monkeypatch: pytest.MonkeyPatch, raw: str, value: int) -> None:
    monkeypatch.setenv(limits.MAX_ASSETS_ENV, raw)
    assert limits.max_assets() == value


@pytest.mark.parametrize("raw", ["0", "-5", "ten", "1e6", "0x10", "1.5"])
def test_anything_else_is_a_usage_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(limits.MAX_BYTES_ENV, raw)
    with pytest.raises(UsageError) as info:
        limits.max_manifest_bytes()
    assert str(info.value) == f"{limits.MAX_BYTES_ENV}={raw!r} is not a positive number of bytes"
