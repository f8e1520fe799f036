"""Scalars are read by the YAML 1.2 core schema, as the editors checking the schema read them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from assetgen import cli, parse_manifest
from assetgen.lock.model import yaml_str
from assetgen.schema import yamlpos
from assetgen.schema.yamlcore import CoreLoader

CORE: list[tuple[str, Any]] = [
    # booleans: true/false in three spellings only
    ("true", True),
    ("True", True),
    ("TRUE", True),
    ("false", False),
    ("False", False),
    ("FALSE", False),
    ("tRUE", "tRUE"),
    ("yes", "yes"),
    ("no", "no"),
    ("on", "on"),
    ("off", "off"),
    ("y", "y"),
    ("n", "n"),
    ("Yes", "Yes"),
    ("OFF", "OFF"),
    # null
    ("null", None),
    ("Null", None),
    ("NULL", None),
    ("~", None),
    ("", None),
    ("nULL", "nULL"),
    # integers: decimal (a leading 0 too), 0o octal, 0x hex; no underscores, no 0b
    ("17", 17),
    ("017", 17),
    ("-017", -17),
    ("+12", 12),
    ("0o17", 15),
    ("0x1F", 31),
    ("0b101", "0b101"),
    ("1_000", "1_000"),
    ("0x_1F", "0x_1F"),
    # floats
    ("1.5", 1.5),
    ("1.", 1.0),
    (".5", 0.5),
    ("1e3", 1000.0),
    ("-2.5E-2", -0.025),
    (".inf", math.inf),
    ("-.Inf", -math.inf),
    ("1_000.5", "1_000.5"),
    # strings that YAML 1.1 would read as something else
    ("16:9", "16:9"),
    ("1:30:00", "1:30:00"),
    ("2026-01-01", "2026-01-01"),
    ("=", "="),
]


@pytest.mark.parametrize(("text", "value"), CORE, ids=[repr(t) for t, _ in CORE])
def test_plain_scalars_follow_the_yaml_1_2_core_schema(text: str, value: Any) -> None:
    """Each plain scalar reads as the 1.2 core schema says (yes/on/1_000/0b are strings)."""
    got = yamlpos.load(f"k: {text}\n".encode(), "probe")[0]["k"]
    assert got == value and type(got) is type(value)


def test_nan_is_a_float() -> None:
    value = yamlpos.load(b"k: .NaN\n", "probe")[0]["k"]
    assert isinstance(value, float) and math.isnan(value)


def test_pure_python_loader_agrees() -> None:
    """Without libyaml the same resolvers apply (the C and Python loaders share them)."""

    class Pure(yaml.SafeLoader):
        pass

    Pure.yaml_implicit_resolvers = CoreLoader.yaml_implicit_resolvers
    for text, _ in CORE:
        node = yaml.compose(f"k: {text}\n", Loader=Pure)
        core = yaml.compose(f"k: {text}\n", Loader=CoreLoader)
        assert node is not None and core is not None  # a document, not an empty stream
        assert node.value[0][1].tag == core.value[0][1].tag


MANIFEST = """\
version: 1
provider: draft
assets:
  hero:
    prompt: {prompt}
    seed: {seed}
"""


def test_leading_zero_seed_is_decimal() -> None:
    """`seed: 017` is 17 (YAML 1.1 read 15), as the editor shows it."""
    (spec,) = parse_manifest(MANIFEST.format(prompt="a city", seed="017").encode(), "m").specs
    assert spec.seed == 17


@pytest.mark.parametrize("prompt", ["=", "1_000 lanterns", "yes"])
def test_a_plain_prompt_is_a_string(prompt: str) -> None:
    """`prompt: =` is the string "=", not a YAML error."""
    (spec,) = parse_manifest(MANIFEST.format(prompt=prompt, seed="5").encode(), "m").specs
    assert spec.prompt == prompt


def test_underscored_seed_is_a_string_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`seed: 1_000` is the string "1_000" to the schema and the CLI alike: a located error."""
    (tmp_path / "assetgen.yaml").write_text(MANIFEST.format(prompt="a city", seed="1_000"))
    assert cli.main(["-C", str(tmp_path), "validate"]) == 2
    err = capsys.readouterr().err
    assert ':6:11: assets.hero.seed must be an integer, not the string "1_000"' in err
    assert "hint: write it without underscores: 1000" in err


def test_yes_is_not_a_boolean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`nsfw_check: yes` is refused with a hint that says why, not "without quotes"."""
    text = "version: 1\nassets:\n  hero:\n    prompt: a city\n    nsfw_check: yes\n"
    (tmp_path / "assetgen.yaml").write_text(text)
    assert cli.main(["-C", str(tmp_path), "validate"]) == 2
    err = capsys.readouterr().err
    assert ':5:17: assets.hero.nsfw_check must be true or false, not the string "yes"' in err
    assert "hint: YAML 1.2 reads `yes` as a string: write true or false" in err


# Strings the YAML 1.1 and 1.2 resolvers disagree about, and their neighbours.
number_like = st.from_regex(
    r"[-+]?(0[box]?)?[0-9a-fA-F_]{0,6}(\.[0-9_]{0,3})?([eE][-+]?[0-9]{1,2})?|[ynYN]|yes|no|on|off"
    r"|[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?|[0-9]{4}-[0-9]{2}-[0-9]{2}|[tT]rue|FALSE|[nN]ull|~|=",
    fullmatch=True,
)


@given(number_like | st.text(st.characters(blacklist_categories=["Cs"]), max_size=12))
def test_lock_strings_read_back_under_the_core_schema(text: str) -> None:
    """Whatever yaml_str writes plain reads back as the same string, by 1.2 and 1.1 rules."""
    line = f"k: {yaml_str(text)}\n"
    assert yamlpos.load(line.encode(), "probe")[0] == {"k": text}
    assert yaml.safe_load(line) == {"k": text}


def test_a_memo_of_the_yaml_1_1_reading_is_not_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest memoised by a YAML 1.1 reading (same assetgen version) is read again."""
    from assetgen.manifest import memo as manifest_memo
    from assetgen.project import Project

    (tmp_path / "assetgen.yaml").write_text(MANIFEST.format(prompt="a city", seed="017"))
    project = Project(tmp_path, tmp_path / "assetgen.yaml")

    class Yaml11(yaml.SafeLoader):  # PyYAML's own resolvers: `017` is octal
        pass

    with monkeypatch.context() as old:
        old.setattr(yamlpos, "_Loader", Yaml11)
        old.setattr(yamlpos, "core_value", lambda tag, text: (False, None))
        old.setattr(manifest_memo, "_SCALARS", "yaml-1.1", raising=False)
        assert project.load_manifest().specs[0].seed == 15
        assert project.load_manifest().specs[0].seed == 15  # from the memo
    assert project.load_manifest().specs[0].seed == 17
