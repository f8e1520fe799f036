"""`assetgen pick` on harder YAML: nested blocks last, anchors on the seed, a null `seeds:`,
flow mappings with comments, a document end marker; each edit checked byte for byte."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from assetgen.cli import main
from assetgen.errors import UsageError
from tests.explore.test_pick import HEAD, picked, seed_of, write


def test_seed_goes_after_a_nested_block_not_after_the_next_comment(tmp_path: Path) -> None:
    """A `derive:` block list last: the seed goes right after its last line, before the blank
    line and the comment that belong to the next entry."""
    text = HEAD + (
        "assets:\n"
        "  hero:\n"
        "    prompt: a city\n"
        "    derive:\n"
        "      - {output: hero@1x.webp, scale: 0.5}\n"
        "      - output: hero.jpg   # small\n"
        "        scale: 0.25\n"
        "\n"
        "  # --- icons ---\n"
        "  icon:\n"
        "    prompt: i\n"
    )
    root = write(tmp_path, text)
    got = picked(root, "hero", seed=42)
    assert got == text.replace("        scale: 0.25\n", "        scale: 0.25\n    seed: 42\n")


def test_seed_after_a_nested_mapping_with_an_alias_last(tmp_path: Path) -> None:
    """The last scalar of the nested block is an alias (its node sits at its anchor, above):
    the seed still goes after the line that writes the alias."""
    text = HEAD + (
        "vars: {q: &q 1K}\n"
        "assets:\n"
        "  hero:\n"
        "    prompt: a city\n"
        "    quality: *q\n"
        "\n"
        "  # next\n"
        "  icon:\n"
        "    prompt: i\n"
    )
    root = write(tmp_path, text)
    got = picked(root, "hero", seed=42)
    assert got == text.replace("    quality: *q\n", "    quality: *q\n    seed: 42\n")


def test_an_anchored_seed_keeps_its_anchor(tmp_path: Path) -> None:
    """`seed: &s 5`: only the scalar is replaced; the anchor stays."""
    text = HEAD + "assets:\n  a:\n    prompt: p\n    seed: &s 5  # mine\n  b:\n    prompt: q\n"
    root = write(tmp_path, text)
    assert picked(root, "a", seed=42) == text.replace("&s 5", "&s 42")


def test_an_anchored_seed_shared_by_an_alias_is_refused_as_shared(tmp_path: Path) -> None:
    """`b: {seed: *s}`: pinning a's seed would change b's; the refusal says so."""
    text = HEAD + "assets:\n  a:\n    prompt: p\n    seed: &s 5\n  b: {prompt: q, seed: *s}\n"
    root = write(tmp_path, text)
    with pytest.raises(UsageError, match="would also change `b`"):
        picked(root, "a", seed=42)
    assert (root / "assetgen.yaml").read_text() == text


def test_a_tagged_seed_keeps_its_tag(tmp_path: Path) -> None:
    text = HEAD + "assets:\n  a:\n    prompt: p\n    seed: !!int 5\n"
    root = write(tmp_path, text)
    assert picked(root, "a", seed=42) == text.replace("!!int 5", "!!int 42")


@pytest.mark.parametrize("null", ["~", "null", "~  # picks go here"])
def test_a_null_seeds_mapping_is_refused_where_it_is_written(tmp_path: Path, null: str) -> None:
    """`seeds: ~` is not a valid manifest (the schema wants a mapping): pick says where, as
    validate does, and writes nothing."""
    body = "assets:\n  icon-${t}:\n    matrix: {t: [a, b]}\n    prompt: p\n"
    text = HEAD + f"seeds: {null}\n" + body
    root = write(tmp_path, text)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["-C", str(root), "pick", "icon-a", "--seed", "7"]) == 2
    assert "assetgen.yaml:3:8: seeds must be a mapping" in err.getvalue()
    assert (root / "assetgen.yaml").read_text() == text


def test_a_flow_mapping_with_a_trailing_comment_gets_the_pair_before_it(tmp_path: Path) -> None:
    """A multi-line flow mapping whose last pair has a comment: `, seed: N` goes after the
    pair, not into the comment."""
    text = HEAD + (
        "assets:\n"
        "  a: {prompt: x,\n"
        "      size: '1:1'  # square\n"
        "     }\n"
        "  b: {prompt: y,  # first\n"
        "      quality: 1K,  # trailing comma\n"
        "     }\n"
    )
    root = write(tmp_path, text)
    got = picked(root, "a", seed=9)
    assert got == text.replace("size: '1:1'  # square", "size: '1:1', seed: 9  # square")
    again = picked(root, "b", seed=10)
    assert again == got.replace("quality: 1K,  # trailing", "quality: 1K, seed: 10  # trailing")


def test_seeds_go_before_a_document_end_marker(tmp_path: Path) -> None:
    """A manifest ending in `...`: the new `seeds:` goes before it, inside the document."""
    body = HEAD + "assets:\n  icon-${t}:\n    matrix: {t: [a, b]}\n    prompt: p\n# the end\n"
    text = body + "...\n"
    root = write(tmp_path, text)
    got = picked(root, "icon-b", seed=3)
    assert got == body + (
        "seeds:  # seeds picked per asset name (`assetgen pick`); they win over `seed:`\n"
        "  icon-b: 3\n"
        "...\n"
    )
    assert seed_of(got, "icon-b") == 3
