"""The public API is explicit, importable, and cheap to import."""

from __future__ import annotations

import subprocess
import sys

import assetgen


def test_every_exported_name_resolves() -> None:
    """Each name in assetgen.__all__ is importable from the package."""
    for name in assetgen.__all__:
        assert getattr(assetgen, name) is not None


def test_cli_start_does_not_import_heavy_modules() -> None:
    """Starting the CLI loads neither the YAML parser, the HTTP stack, Pillow nor jsonschema."""
    code = (
        "import sys, assetgen.cli, assetgen.commands, assetgen.project;"
        "print(sorted(m for m in ('yaml', 'httpx', 'PIL', 'jsonschema', 'anyio') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_provider_seam_is_exported() -> None:
    """The provider protocol and its types, the registry and the contract kit resolve by name."""
    import assetgen.providers as providers
    import assetgen.testing.provider_kit as kit

    for module in (providers, kit):
        for name in module.__all__:
            assert getattr(module, name) is not None, name
    assert providers.AssetSpec is assetgen.AssetSpec
    assert providers.ProviderError is assetgen.ProviderError
    assert providers.ENTRY_POINT_GROUP == "assetgen.providers"
