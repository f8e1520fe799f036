"""The rules one manifest field is held to: names, output paths, ${var} substitution, size bounds.

FieldRules holds the diagnostics of one resolution and the checks that add to them;
the Resolver (resolve.py) walks the manifest with them."""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..catalog import MODELS, ModelInfo
from ..errors import Diagnostic
from ..outpaths import dir_problem, path_problem, shown
from ..schema.limits import MAX_ASSETS_ENV, max_assets
from ..schema.yamlpos import Path, Positions
from ..spec import FORMATS
from ..urls import remote_url_problem

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")


_NAME_CHARS = re.compile(r"[a-z0-9._-]*")


_NAME_HINT = (
    "names use lowercase letters, digits, `.`, `_` and `-`, and start with a letter or digit"
)


_PLACEHOLDER = re.compile(r"\$(\$|\{([^}]*)\}|\{)")


_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


DEFAULT_PROVIDER = "evolink"


DEFAULT_OUTPUT_DIR = "assets"


PriceFn = Callable[[str, str, str], float]  # (provider, model, quality) -> credits


class _SubstitutionError(Exception):
    def __init__(self, message: str, hint: str | None = None, needle: str = "") -> None:
        super().__init__(message)
        self.hint = hint
        self.needle = needle  # the text in the source the problem is about


def substitute(template: str, context: Mapping[str, str]) -> str:
    """Replace ``${name}`` from ``context``; ``$$`` is a literal ``$``; a lone ``$`` stays."""

    def repl(m: re.Match[str]) -> str:
        if m.group(1) == "$":
            return "$"
        name = m.group(2)
        if name is None:
            raise _SubstitutionError(
                "unterminated `${`", "close it with `}`, or write `$$` for a literal `$`", "${"
            )
        if not _VAR_NAME.fullmatch(name):
            raise _SubstitutionError(
                f"`${{{name}}}` is not a valid variable reference",
                "variable names use letters, digits and _; write `$$` for a literal `$`",
                m.group(0),
            )
        if name not in context:
            known = sorted(context)
            import difflib  # only on this error path: it costs an import

            close = difflib.get_close_matches(name, known, n=1)
            if close:
                hint = f"did you mean `${{{close[0]}}}`?"
            elif known:
                hint = f"known variables: {', '.join(known)}"
            else:
                hint = "define it under `vars:` or in the asset's `matrix:`"
            raise _SubstitutionError(f"unknown variable `${{{name}}}`", hint, m.group(0))
        return context[name]

    if "$" not in template:
        return template
    return _PLACEHOLDER.sub(repl, template)


def _referenced(template: str) -> set[str]:
    return {m.group(2) for m in _PLACEHOLDER.finditer(template) if m.group(2)}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _bad_path(rel: str) -> bool:
    return rel.startswith("/") or "\\" in rel or re.match(r"^[A-Za-z]:", rel) is not None


def _escapes(norm: str) -> bool:
    return norm == ".." or norm.startswith("../")


Fields = dict[str, tuple[Any, Path]]  # field -> (value, where it was written)


class FieldRules:
    """Diagnostics of one resolution, and the per-field checks that add to them."""

    def __init__(
        self, filename: str, positions: Positions, providers: tuple[str, ...], price: PriceFn
    ) -> None:
        self.origins: dict[str, list[str]] | None = None
        self.filename = filename
        self.pos = positions
        self.providers = providers
        self.price = price
        self.models: Mapping[str, ModelInfo] = MODELS  # with the manifest's `models:` (resolve.py)
        self.diags: list[Diagnostic] = []
        self._seen: set[tuple[int, int, str]] = set()
        self.bad_defaults: set[str] = set()
        self.presets: dict[str, list[dict[str, Any]]] = {}  # the manifest's own `presets:`
        self.limit = max_assets()
        self.room = self.limit  # assets the manifest may still expand to; < 0: over

    def error(
        self,
        path: Path,
        message: str,
        hint: str | None = None,
        *,
        key: bool = False,
        needle: str = "",
    ) -> None:
        line, col = self.pos.find(path, needle, key=key) if needle else self.pos.of(path, key=key)
        if (line, col, message) in self._seen:  # a template error repeats for every matrix row
            return
        self._seen.add((line, col, message))
        self.diags.append(Diagnostic(self.filename, line, col, message, hint))

    def _check_remote(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value:
            return None  # the schema said why
        problem = remote_url_problem(value)
        if problem is not None:
            self.error(("cache", "remote"), f"cache.remote `{value}`: {problem[0]}", problem[1])
            return None
        return value

    def _check_output_dir(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            return DEFAULT_OUTPUT_DIR
        if _bad_path(value):
            self.error(
                ("output_dir",),
                f"output_dir `{value}` must be a relative path with `/` separators",
                "it is relative to the manifest's directory",
            )
            return DEFAULT_OUTPUT_DIR
        norm = posixpath.normpath(value)
        if _escapes(norm):
            self.error(
                ("output_dir",),
                f"output_dir `{value}` is outside the manifest's directory",
                "keep outputs next to the manifest, so the lock and the files travel together",
            )
            return DEFAULT_OUTPUT_DIR
        problem = dir_problem(norm)
        if problem is not None:
            self.error(
                ("output_dir",),
                f"output_dir `{shown(value)}` {problem}",
                "use a folder of your own, such as `assets`",
            )
            return DEFAULT_OUTPUT_DIR
        return norm

    def _fits(self, template: str, lengths: list[int]) -> bool:
        """Whether this asset's rows fit under the cap, counted before expanding any."""
        count = math.prod(lengths)
        if self.room < 0:
            return False  # already reported
        self.room -= count
        if self.room >= 0:
            return True
        limit = self.limit
        total = limit - self.room
        if lengths:
            factors = " x ".join(f"{n:,}" for n in lengths)
            what = f"`{template}` expands to {count:,} assets ({factors})"
            if count < total:
                what += f", {total:,} with those before it"
        else:
            what = f"`{template}` is asset number {total:,}"
        self.error(
            ("assets", template, "matrix") if lengths else ("assets", template),
            f"{what}; the limit is {limit:,} assets per manifest",
            f"split it over several manifests (-f FILE), or raise {MAX_ASSETS_ENV}",
            key=True,
        )
        return False

    def _sub(
        self, path: Path, value: str, context: Mapping[str, str], *, key: bool = False
    ) -> str | None:
        try:
            return substitute(value, context)
        except _SubstitutionError as exc:
            self.error(path, str(exc), exc.hint, key=key, needle=exc.needle)
            return None

    def _check_name(self, name: str, template: str, row: dict[str, tuple[Any, Path]]) -> None:
        if NAME_RE.fullmatch(name):
            return
        # A matrix value that brings in a character names cannot have is the thing to fix.
        for value, where in row.values():
            if not _NAME_CHARS.fullmatch(_text(value)):
                self.error(
                    where,
                    f"matrix value `{_text(value)}` cannot be part of an asset name (`{template}`)",
                    _NAME_HINT,
                )
                return
        expanded = f" (expanded from `{template}`)" if name != template else ""
        self.error(
            ("assets", template), f"invalid asset name `{name}`{expanded}", _NAME_HINT, key=True
        )

    def _output(
        self,
        name: str,
        fields: Fields,
        context: Mapping[str, str],
        output_dir: str,
        base: Path,
    ) -> str | None:
        raw, path = fields.get("output", (None, base))
        if raw is None:
            rel: str | None = f"{name}.png"
        elif not isinstance(raw, str):
            return None
        else:
            rel = self._sub(path, raw, context)
        if rel is None:
            return None
        if _bad_path(rel):
            self.error(
                path,
                f"output `{rel}` must be a relative path with `/` separators",
                f"it is relative to output_dir (`{output_dir}`)",
            )
            return None
        norm = posixpath.normpath(rel)
        if _escapes(norm) or norm == ".":
            self.error(
                path,
                f"output `{rel}` is outside output_dir `{output_dir}`",
                "keep outputs inside output_dir, or change output_dir",
            )
            return None
        base_name = posixpath.basename(norm)
        ext = base_name.rsplit(".", 1)[-1].lower() if "." in base_name else ""
        if ext not in FORMATS:
            what = f"`.{ext}` is not an image format assetgen writes" if ext else "has no extension"
            self.error(
                path,
                f"output `{rel}`: {what}",
                "end it with .png, .jpg, .jpeg or .webp (the extension picks the format)",
            )
            return None
        full = posixpath.normpath(posixpath.join(output_dir, norm))
        problem = path_problem(full)  # the rule the lock and every write follow, too
        if problem is not None:
            self.error(
                path,
                f"output `{shown(rel)}` {problem}",
                "outputs are images in folders of your own",
            )
            return None
        return full
