"""The manifest memos: an edit re-parses only the changed entries, and always agrees with a full parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgen.errors import ManifestError
from assetgen.manifest.memo import load_manifest, split_blocks
from assetgen.manifest.resolve import parse_manifest
from assetgen.spec import Manifest

BASE = """\
version: 1
provider: evolink
vars:
  style: "flat vector"
defaults:
  quality: 1K
assets:
  alpha:
    prompt: "${style}, alpha"
    size: "16:9"

  beta:
    prompt: "${style}, beta"   # a comment
  icon-${t}:
    matrix: {t: [one, two]}
    prompt: "${style}, icon ${t}"
    output: icons/${t}.png
output_dir: out
"""


class Parser:
    """The real parser, remembering what it was asked to parse."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def __call__(self, data: bytes, origins: dict[str, list[str]] | None) -> Manifest:
        self.seen.append(data)
        return parse_manifest(data, "assetgen.yaml", origins=origins)


def load(text: str, state: Path, parser: Parser) -> Manifest:
    return load_manifest(text.encode(), parser, None, state / "m.")


def test_split_keeps_every_byte() -> None:
    """Header, blocks and tail put back together are the original text."""
    split = split_blocks(BASE)
    assert split is not None and len(split.blocks) == 3
    assert split.head + "".join(split.blocks) + split.tail == BASE


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace('alpha"', 'alpha at dusk"'),
        lambda t: t.replace("  beta:\n", "  gamma:\n"),
        lambda t: t.replace("[one, two]", "[one, two, three]"),
        lambda t: t.replace('  beta:\n    prompt: "${style}, beta"   # a comment\n', ""),
        lambda t: t.replace("output_dir: out", "output_dir: elsewhere"),
        lambda t: t.replace('style: "flat vector"', 'style: "isometric"'),
        lambda t: t + "  # trailing comment\n",
    ],
)
def test_incremental_result_equals_full_parse(tmp_path: Path, edit: object) -> None:
    """After any edit, the memo-assisted result is exactly the full parse's."""
    parser = Parser()
    load(BASE, tmp_path, parser)
    edited = edit(BASE)  # type: ignore[operator]
    got = load(edited, tmp_path, parser)
    assert got == parse_manifest(edited.encode(), "assetgen.yaml")


def test_one_prompt_edit_parses_one_entry(tmp_path: Path) -> None:
    """Editing one entry's prompt re-parses that entry alone (with the header), not the others."""
    parser = Parser()
    load(BASE, tmp_path, parser)
    load(BASE.replace('beta"', 'beta, bolder"'), tmp_path, parser)
    partial = parser.seen[-1].decode()
    assert "beta, bolder" in partial and "alpha" not in partial and "icon" not in partial


def test_unchanged_bytes_parse_nothing(tmp_path: Path) -> None:
    """The same bytes again are served whole from the memo."""
    parser = Parser()
    load(BASE, tmp_path, parser)
    load(BASE, tmp_path, parser)
    assert len(parser.seen) == 1


def test_clash_between_entries_is_reported_by_a_full_parse(tmp_path: Path) -> None:
    """Two entries that clash only together still fail, with the located error of a full parse."""
    parser = Parser()
    load(BASE, tmp_path, parser)
    clash = BASE.replace('    size: "16:9"\n', '    size: "16:9"\n    output: icons/one.png\n')
    with pytest.raises(ManifestError) as exc:
        load(clash, tmp_path, parser)
    assert "both write" in str(exc.value) and "assetgen.yaml:" in str(exc.value)


@pytest.mark.parametrize(
    "text",
    [
        BASE.replace("  alpha:\n", "  alpha: &a\n"),  # an anchor inside an entry
        "version: 1\nassets: {a: {prompt: x}}\n",  # flow style
        BASE.replace("  alpha:", "  alpha:\t"),  # a tab
        "---\n" + BASE,  # explicit document
    ],
)
def test_unsafe_texts_are_not_split(text: str) -> None:
    """Texts whose entries could depend on each other are always parsed whole."""
    assert split_blocks(text) is None


def test_cache_remote_survives_the_memos(tmp_path: Path) -> None:
    """`cache.remote` comes back from the whole-file memo and from an incremental parse."""
    text = BASE.replace(
        "output_dir: out\n", "output_dir: out\ncache:\n  remote: s3://team/assets\n"
    )
    parser = Parser()
    first = load(text, tmp_path, parser)
    assert first.remote_cache == "s3://team/assets"
    again = load(text, tmp_path, parser)  # whole-file memo
    assert len(parser.seen) == 1 and again.remote_cache == "s3://team/assets"
    edited = load(text.replace('beta"', 'beta 2"'), tmp_path, parser)  # one block re-parsed
    assert len(parser.seen) == 2 and b"alpha" not in parser.seen[-1]
    assert edited.remote_cache == "s3://team/assets"
    moved = load(text.replace("s3://team/assets", "file:///srv/cache"), tmp_path, parser)
    assert moved.remote_cache == "file:///srv/cache"


def test_asset_cap_counts_every_entry_not_only_the_reparsed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each new entry fits under ASSETGEN_MAX_ASSETS, all together do not: an error,
    though the incremental parse sees only the new entry."""
    monkeypatch.setenv("ASSETGEN_MAX_ASSETS", "5")
    parser = Parser()
    load(BASE, tmp_path, parser)  # alpha, beta and two icons: 4
    more = BASE.replace(
        "output_dir: out\n",
        "  gamma-${n}:\n    matrix: {n: [a, b]}\n    prompt: g\noutput_dir: out\n",
    )
    with pytest.raises(ManifestError, match="6 with those before it; the limit is 5 assets"):
        load(more, tmp_path, parser)
