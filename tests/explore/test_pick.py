"""`assetgen pick`: the manifest edit is one `seed:` line (or one `seeds:` entry), byte for byte."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from assetgen.cli import main
from assetgen.commands.explore import pick
from assetgen.errors import UsageError
from assetgen.explore.candidates import candidate_seed
from assetgen.manifest.resolve import parse_manifest
from assetgen.project import find_project

HEAD = "version: 1\nprovider: draft\n"


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "assetgen.yaml").write_bytes(text.encode("utf-8"))
    return tmp_path


def picked(root: Path, name: str, *, k: int | None = None, seed: int | None = None) -> str:
    assert pick(find_project(root), name, k=k, seed=seed, out=io.StringIO()) == 0
    return (root / "assetgen.yaml").read_bytes().decode("utf-8")


def seed_of(text: str, name: str) -> int:
    spec = next(s for s in parse_manifest(text.encode(), "m").specs if s.name == name)
    return spec.seed


def test_plain_asset_seed_replaced_in_place(tmp_path: Path) -> None:
    """A seed already there is replaced: the rest of the file, comments included, is untouched."""
    text = HEAD + (
        "assets:\n"
        "  # the home page\n"
        "  hero-home:\n"
        "    prompt: 'a city at dawn'   # single quotes stay\n"
        "    seed: 1234    # chosen by hand\n"
        "\n"
        "  other:\n"
        '    prompt: "x"\n'
    )
    root = write(tmp_path, text)
    assert picked(root, "hero-home", seed=48213) == text.replace("seed: 1234", "seed: 48213")


def test_plain_asset_seed_inserted_after_its_last_field(tmp_path: Path) -> None:
    """Without a seed, one line is inserted after the entry's last field, at its indentation,
    before the blank line and the comment that belong to the next entry."""
    text = HEAD + (
        "assets:\n"
        "    hero-home:\n"
        '        prompt: "a city at dawn"\n'
        '        size: "16:9"  # wide\n'
        "\n"
        "    # next one\n"
        "    other:\n"
        '        prompt: "x"\n'
    )
    root = write(tmp_path, text)
    seed = candidate_seed("hero-home", 3, 1, 1_048_576)
    want = text.replace('"16:9"  # wide\n', f'"16:9"  # wide\n        seed: {seed}\n')
    assert picked(root, "hero-home", k=3) == want


def test_block_scalar_prompt_then_seed(tmp_path: Path) -> None:
    """A literal block prompt keeps its trailing blank line; the seed goes after its text."""
    text = HEAD + "assets:\n  a:\n    prompt: |\n      two\n      lines\n\n  b:\n    prompt: x\n"
    root = write(tmp_path, text)
    got = picked(root, "a", seed=7)
    assert got == text.replace("      lines\n", "      lines\n    seed: 7\n")
    assert seed_of(got, "a") == 7


def test_flow_style_entry_gets_a_flow_pair(tmp_path: Path) -> None:
    """A flow mapping stays one: `, seed: N` goes before its closing brace."""
    text = HEAD + "assets:\n  a: {prompt: \"x\", size: '1:1'}  # flow\n  b: {prompt: y, seed: 5}\n"
    root = write(tmp_path, text)
    got = picked(root, "a", seed=9)
    assert got == text.replace("size: '1:1'}", "size: '1:1', seed: 9}")
    got = picked(root, "b", seed=11)
    assert got.endswith("  b: {prompt: y, seed: 11}\n")


def test_matrix_asset_goes_to_a_new_seeds_mapping(tmp_path: Path) -> None:
    """A matrix row has no entry of its own: a top-level `seeds:` mapping is appended, and
    its seed wins over the template's `seed:`; the other rows keep theirs."""
    text = HEAD + (
        "assets:\n"
        "  icon-${t}:\n"
        "    matrix: {t: [search, settings]}\n"
        '    prompt: "icon ${t}"\n'
        "    seed: 77\n"
    )
    root = write(tmp_path, text)
    got = picked(root, "icon-search", seed=123)
    assert got == text + (
        "seeds:  # seeds picked per asset name (`assetgen pick`); they win over `seed:`\n"
        "  icon-search: 123\n"
    )
    assert seed_of(got, "icon-search") == 123 and seed_of(got, "icon-settings") == 77
    again = picked(root, "icon-settings", seed=456)  # an existing mapping gets one more line
    assert again == got + "  icon-settings: 456\n"
    third = picked(root, "icon-search", seed=5)  # and an entry there is changed in place
    assert third == again.replace("icon-search: 123", "icon-search: 5")


def test_existing_flow_seeds_mapping_and_crlf(tmp_path: Path) -> None:
    """A flow `seeds:` gains a pair; CR LF line ends are kept (and used for new lines)."""
    text = (
        HEAD + "seeds: {icon-a: 3}\nassets:\n  icon-${t}:\n    matrix: {t: [a, b]}\n    prompt: p\n"
    ).replace("\n", "\r\n")
    root = write(tmp_path, text)
    got = picked(root, "icon-b", seed=4)
    assert got == text.replace("{icon-a: 3}", "{icon-a: 3, icon-b: 4}")


def test_crlf_plain_asset(tmp_path: Path) -> None:
    """An inserted line in a CR LF file ends with CR LF too."""
    plain = HEAD.replace("\n", "\r\n") + "assets:\r\n  x:\r\n    prompt: p\r\n"
    root = write(tmp_path, plain)
    assert picked(root, "x", seed=8) == plain + "    seed: 8\r\n"


def test_a_pick_that_would_change_others_is_refused(tmp_path: Path) -> None:
    """An entry that others merge (`<<: *base`) is not edited: they would change too."""
    text = HEAD + (
        'assets:\n  a: &base\n    prompt: shared\n  b:\n    <<: *base\n    size: "16:9"\n'
    )
    root = write(tmp_path, text)
    with pytest.raises(UsageError, match=r"(?s)would also change `b`.*seeds:"):
        picked(root, "a", seed=3)
    assert (root / "assetgen.yaml").read_text() == text
    # b's own entry is its own: inserting there overrides the merged fields for b alone
    got = picked(root, "b", seed=4)
    assert seed_of(got, "b") == 4 and seed_of(got, "a") != 4
    assert got == text + "    seed: 4\n"  # one line, in b's entry; a's untouched


def test_pick_usage_errors(tmp_path: Path) -> None:
    """Unknown names and a seed out of range are usage errors (exit 2), nothing written."""
    text = HEAD + "assets:\n  a:\n    prompt: p\n"
    root = write(tmp_path, text)
    assert main(["-C", str(root), "pick", "nope", "1"]) == 2
    assert main(["-C", str(root), "pick", "a", "--seed", "0"]) == 2
    assert main(["-C", str(root), "pick", "a"]) == 2
    assert (root / "assetgen.yaml").read_text() == text


def test_seeds_mapping_names_must_exist(tmp_path: Path) -> None:
    """A `seeds:` entry for no asset is a located error (a stale pick after a rename)."""
    root = write(tmp_path, HEAD + "seeds:\n  gone: 5\nassets:\n  a:\n    prompt: p\n")
    assert main(["-C", str(root), "validate"]) == 2


def test_non_ascii_text_before_the_edit(tmp_path: Path) -> None:
    """Positions are characters, not bytes: accents and emoji before the edit do not shift it."""
    text = (
        "\ufeff"
        + HEAD
        + 'assets:\n  a:\n    prompt: "café 🌅 à l\'aube"\n    seed: 3\n  b:\n    prompt: ü\n'
    )
    root = write(tmp_path, text)
    assert picked(root, "a", seed=99) == text.replace("seed: 3", "seed: 99")
    assert picked(root, "b", seed=5) == text.replace("seed: 3", "seed: 99") + "    seed: 5\n"
