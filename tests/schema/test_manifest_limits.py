"""The cap on assets after matrix expansion: refused at the matrix, with the count, before expanding."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from assetgen.cli import main
from assetgen.errors import ManifestError
from assetgen.manifest.resolve import parse_manifest
from assetgen.schema.limits import MAX_ASSETS


def _matrix(a: int, b: int) -> bytes:
    return (
        "version: 1\nprovider: draft\nassets:\n"
        "  plain:\n    prompt: p\n"
        "  icon-${a}-${b}:\n"
        f"    matrix:\n      a: [{', '.join(f'a{i}' for i in range(a))}]\n"
        f"      b: [{', '.join(f'b{i}' for i in range(b))}]\n"
        '    prompt: "${a} ${b}"\n'
    ).encode()


def test_a_million_asset_matrix_is_refused_without_expanding_it() -> None:
    """1,000 x 1,000 is a located error at `matrix:` naming the count and the limit,
    found in a few MB (expanding it took 1.7 GB): no spec is ever made."""
    tracemalloc.start()
    try:
        with pytest.raises(ManifestError) as info:
            parse_manifest(_matrix(1000, 1000), "assetgen.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    (diag,) = info.value.diagnostics
    assert (diag.line, diag.col) == (7, 5)  # the `matrix` key
    assert diag.message == (
        "`icon-${a}-${b}` expands to 1,000,000 assets (1,000 x 1,000), 1,000,001 with "
        f"those before it; the limit is {MAX_ASSETS:,} assets per manifest"
    )
    assert diag.hint is not None and "ASSETGEN_MAX_ASSETS" in diag.hint
    assert peak < 50_000_000


def test_the_cap_is_the_total_and_the_variable_raises_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At the cap is fine; one more is refused, also as a plain asset; the variable moves it."""
    monkeypatch.setenv("ASSETGEN_MAX_ASSETS", "13")
    assert len(parse_manifest(_matrix(4, 3), "m.yaml").specs) == 13
    monkeypatch.setenv("ASSETGEN_MAX_ASSETS", "12")
    with pytest.raises(ManifestError, match=r"\(4 x 3\), 13 with those before it; the limit is 12"):
        parse_manifest(_matrix(4, 3), "m.yaml")
    monkeypatch.setenv("ASSETGEN_MAX_ASSETS", "1")
    text = b"version: 1\nassets:\n  a:\n    prompt: p\n  b:\n    prompt: q\n"
    with pytest.raises(ManifestError, match=r"^m.yaml:5:3: `b` is asset number 2; the limit is 1 "):
        parse_manifest(text, "m.yaml")


def test_a_bad_cap_in_the_environment_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "assetgen.yaml").write_bytes(_matrix(2, 2))
    monkeypatch.setenv("ASSETGEN_MAX_ASSETS", "lots")
    assert main(["-C", str(tmp_path), "validate"]) == 2
    assert (
        "ASSETGEN_MAX_ASSETS='lots' is not a positive number of assets" in capsys.readouterr().err
    )
