"""Plain scalars resolved by the YAML 1.2 core schema, not PyYAML's YAML 1.1 rules.

The manifest's JSON Schema is checked in editors by YAML 1.2 tools (the YAML
language server and most others), which read ``nsfw_check: yes`` as the string
"yes", ``017`` as 17 and ``1_000`` as a string. PyYAML reads them the YAML 1.1 way
(true, 15, 1000), so an editor would show no squiggle where the CLI refuses or,
worse, builds a different request. Resolving by the 1.2 core schema here makes the
two agree:

- booleans are ``true``/``True``/``TRUE`` and ``false``/``False``/``FALSE`` only;
- null is ``null``/``Null``/``NULL``/``~`` or nothing;
- integers are decimal (``017`` is 17), ``0o`` octal or ``0x`` hex, without ``_``;
- floats are ``1.5``, ``.5``, ``1e3``, ``.inf``, ``.nan`` (no ``_``, no base 60);
- everything else (``yes``, ``on``, ``16:9``, ``2026-01-01``, ``=``) is a string.

Merge keys (``<<``) are kept: YAML 1.2 dropped them, but manifests use them for
shared defaults and every common YAML tool still honours them.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

BaseLoader: Any
try:
    BaseLoader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    BaseLoader = yaml.SafeLoader

BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
MERGE = "tag:yaml.org,2002:merge"

_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class CoreLoader(BaseLoader):  # type: ignore[misc]
    """The C (or pure-Python) safe loader with only the YAML 1.2 core schema's resolvers."""


CoreLoader.yaml_implicit_resolvers = {}  # not inherited: none of YAML 1.1's
for _tag, _rx, _first in (
    (BOOL, _BOOL_RE, list("tTfF")),
    (NULL, _NULL_RE, ["~", "n", "N", ""]),
    (INT, _INT_RE, list("-+0123456789")),
    (FLOAT, _FLOAT_RE, list("-+0123456789.")),
    (MERGE, re.compile(r"^(?:<<)$"), ["<"]),
):
    CoreLoader.add_implicit_resolver(_tag, _rx, _first)


def core_value(tag: str, text: str) -> tuple[bool, Any]:
    """(True, value) when ``text`` is a core-schema scalar of ``tag``, else (False, None).

    Also used for explicit tags (``!!int 017`` is 17 too); text the core schema does not
    give that tag falls back to PyYAML's constructor. Raises ValueError for an integer
    of more digits than Python reads (``sys.get_int_max_str_digits``).
    """
    if tag == BOOL and _BOOL_RE.fullmatch(text):
        return True, text.lower() == "true"
    if tag == NULL and _NULL_RE.fullmatch(text):
        return True, None
    if tag == INT and _INT_RE.fullmatch(text):
        if text.startswith("0o"):
            return True, int(text[2:], 8)
        if text.startswith("0x"):
            return True, int(text[2:], 16)
        return True, int(text, 10)  # a leading 0 is decimal: `017` is 17
    if tag == FLOAT and _FLOAT_RE.fullmatch(text):
        lowered = text.lower()
        if lowered.endswith(".inf"):
            return True, -math.inf if text.startswith("-") else math.inf
        if lowered == ".nan":
            return True, math.nan
        return True, float(text)
    return False, None
