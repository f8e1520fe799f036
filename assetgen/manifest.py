"""From manifest bytes to validated, frozen AssetSpecs, with every problem located.

Validation and resolution are one pass because most semantic checks (unique names,
colliding outputs, unknown ${vars}) only make sense after matrix expansion. The pass
never stops at the first problem: it collects them all and raises one ManifestError.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import catalog, schema, yamlpos
from .errors import Diagnostic, ManifestError
from .spec import FORMATS, AssetSpec, derive_seed, spec_hash
from .urls import callback_url_problem
from .yamlpos import Path, Positions

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
_PLACEHOLDER = re.compile(r"\$(\$|\{([^}]*)\}|\{)")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DEFAULT_PROVIDER = "evolink"
DEFAULT_OUTPUT_DIR = "assets"


@dataclass(frozen=True, slots=True)
class Manifest:
    """A valid manifest, resolved: what ``plan`` and ``build`` work from."""

    provider: str
    output_dir: str
    specs: tuple[AssetSpec, ...]


PriceFn = Callable[[str, str, str], float]  # (provider, model, quality) -> credits


def parse_manifest(
    data: bytes,
    filename: str,
    *,
    provider: str | None = None,
    providers: Iterable[str] = ("evolink", "draft"),
    price: PriceFn | None = None,
) -> Manifest:
    """Validate and resolve a manifest; raise ManifestError listing every problem.

    ``provider`` overrides the manifest's own (``--provider``); ``price`` gives the
    credits one generation costs (default: the catalog price, nothing for ``draft``).
    """
    doc, positions = yamlpos.load(data, filename)
    return _Resolver(filename, positions, tuple(providers), price or catalog_price).run(doc, provider)


def catalog_price(provider: str, model: str, quality: str) -> float:
    if provider == "draft":
        return 0.0
    info = catalog.MODELS.get(model)
    return info.credits.get(quality, 0.0) if info else 0.0


class _SubstitutionError(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def substitute(template: str, context: Mapping[str, str]) -> str:
    """Replace ``${name}`` from ``context``; ``$$`` is a literal ``$``; a lone ``$`` stays."""

    def repl(m: re.Match[str]) -> str:
        if m.group(1) == "$":
            return "$"
        name = m.group(2)
        if name is None:
            raise _SubstitutionError("unterminated `${`", "close it with `}`, or write `$$` for a `$`")
        if not _VAR_NAME.fullmatch(name):
            raise _SubstitutionError(f"`${{{name}}}` is not a valid variable reference")
        if name not in context:
            known = sorted(context)
            import difflib

            close = difflib.get_close_matches(name, known, n=1)
            if close:
                hint = f"did you mean `${{{close[0]}}}`?"
            elif known:
                hint = f"known variables: {', '.join(known)}"
            else:
                hint = "define it under `vars:` or in the asset's `matrix:`"
            raise _SubstitutionError(f"unknown variable `${{{name}}}`", hint)
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


class _Resolver:
    def __init__(
        self, filename: str, positions: Positions, providers: tuple[str, ...], price: PriceFn
    ) -> None:
        self.filename = filename
        self.pos = positions
        self.providers = providers
        self.price = price
        self.diags: list[Diagnostic] = []
        self._seen: set[tuple[int, int, str]] = set()

    def error(self, path: Path, message: str, hint: str | None = None, *, key: bool = False) -> None:
        line, col = self.pos.of(path, key=key)
        if (line, col, message) in self._seen:  # a template error repeats for every matrix row
            return
        self._seen.add((line, col, message))
        self.diags.append(Diagnostic(self.filename, line, col, message, hint))

    def run(self, doc: Any, provider_override: str | None) -> Manifest:
        if not isinstance(doc, dict):
            self.error((), "the manifest must be a mapping with `version` and `assets`",
                       "start from `assetgen init`")
            raise ManifestError(self.diags)
        self.diags.extend(schema.validate("manifest", doc, self.pos, self.filename))
        bad_paths = {self._diag_key(d) for d in self.diags}

        provider = provider_override or doc.get("provider") or DEFAULT_PROVIDER
        if not isinstance(provider, str) or provider not in self.providers:
            provider = DEFAULT_PROVIDER

        output_dir = doc.get("output_dir", DEFAULT_OUTPUT_DIR)
        output_dir = self._check_output_dir(output_dir)

        raw_vars = doc.get("vars") or {}
        variables = {str(k): _text(v) for k, v in raw_vars.items()} if isinstance(raw_vars, dict) else {}
        defaults = doc.get("defaults") or {}
        if not isinstance(defaults, dict):
            defaults = {}
        assets = doc.get("assets") or {}
        if not isinstance(assets, dict):
            assets = {}

        specs: list[AssetSpec] = []
        names: dict[str, Path] = {}
        outputs: dict[str, tuple[str, str]] = {}
        for template, body in assets.items():
            if not isinstance(body, dict):
                continue  # the schema already said so
            path: Path = ("assets", template)
            if path in bad_paths:
                continue
            for spec, origin in self._expand(template, body, defaults, variables, provider, output_dir):
                self._register(spec, origin, names, outputs)
                specs.append(spec)
        if self.diags:
            raise ManifestError(self.diags)
        specs.sort(key=lambda s: s.name)
        return Manifest(provider=provider, output_dir=output_dir, specs=tuple(specs))

    def _diag_key(self, d: Diagnostic) -> Path:
        # Which asset a schema diagnostic belongs to, by position: assets whose
        # subtree has a schema error are not resolved further (their values may
        # have any type), but every other asset still is.
        for (kind, name), pos in ((p[:2], v) for p, v in self.pos.keys.items() if len(p) == 2):
            if kind != "assets":
                continue
            end = self._asset_end(name)
            if pos <= (d.line, d.col) <= end:
                return ("assets", name)
        return ()

    def _asset_end(self, name: str) -> tuple[int, int]:
        if not hasattr(self, "_ends"):
            keys = sorted(
                (v, p[1]) for p, v in self.pos.keys.items() if len(p) == 2 and p[0] == "assets"
            )
            self._ends: dict[str, tuple[int, int]] = {}
            for i, (_, n) in enumerate(keys):
                self._ends[str(n)] = keys[i + 1][0] if i + 1 < len(keys) else (10**9, 0)
        return self._ends.get(name, (0, 0))

    def _check_output_dir(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            return DEFAULT_OUTPUT_DIR
        if value.startswith("/") or "\\" in value or re.match(r"^[A-Za-z]:", value):
            self.error(("output_dir",), f"output_dir `{value}` must be a relative path with `/`",
                       "paths in the manifest are relative to the manifest's directory")
            return DEFAULT_OUTPUT_DIR
        return posixpath.normpath(value)

    def _expand(
        self,
        template: str,
        body: dict[str, Any],
        defaults: dict[str, Any],
        variables: dict[str, str],
        provider: str,
        output_dir: str,
    ) -> Iterable[tuple[AssetSpec, Path]]:
        base: Path = ("assets", template)
        matrix = body.get("matrix") or {}
        keys = list(matrix)
        used_in_name = _referenced(template)
        for key in keys:
            if key not in used_in_name:
                self.error((*base, "matrix", key), f"matrix key `{key}` is not used in the asset name `{template}`",
                           f"add `${{{key}}}` to the name so every expanded name is unique", key=True)
        if any(k not in used_in_name for k in keys):
            return
        rows = itertools.product(*(matrix[k] for k in keys)) if keys else [()]
        for values in rows:
            row = dict(zip(keys, values))
            context = {**variables, **{k: _text(v) for k, v in row.items()}}
            spec = self._resolve_one(template, body, defaults, row, context, provider, output_dir)
            if spec is not None:
                yield spec, base

    def _sub(self, path: Path, value: str, context: Mapping[str, str], *, key: bool = False) -> str | None:
        try:
            return substitute(value, context)
        except _SubstitutionError as exc:
            self.error(path, str(exc), exc.hint, key=key)
            return None

    def _resolve_one(
        self,
        template: str,
        body: dict[str, Any],
        defaults: dict[str, Any],
        row: dict[str, Any],
        context: dict[str, str],
        provider: str,
        output_dir: str,
    ) -> AssetSpec | None:
        base: Path = ("assets", template)
        before = len(self.diags)
        name = self._sub(base, template, context, key=True)
        if name is None:
            return None
        if not NAME_RE.fullmatch(name):
            expanded = f" (expanded from `{template}`)" if name != template else ""
            self.error(base, f"invalid asset name `{name}`{expanded}",
                       "names use lowercase letters, digits, `.`, `_` and `-`, and start with a letter or digit",
                       key=True)

        # Precedence: defaults < asset < matrix row; remember where each value came from.
        fields: dict[str, tuple[Any, Path]] = {}
        for k, v in defaults.items():
            fields[k] = (v, ("defaults", k))
        for k, v in body.items():
            if k != "matrix":
                fields[k] = (v, (*base, k))
        field_names = set(schema.asset_fields()) - {"matrix", "output"}
        for k, v in row.items():
            if k in field_names:
                fields[k] = (v, (*base, "matrix", k))

        def get(field: str) -> tuple[Any, Path]:
            return fields.get(field, (None, base))

        def text_field(field: str) -> tuple[str | None, Path]:
            value, path = get(field)
            if value is None:
                return None, path
            if not isinstance(value, str):
                self.error(path, f"`{field}` must be a string, not {value!r}")
                return None, path
            return self._sub(path, value, context), path

        prompt, prompt_path = text_field("prompt")
        if fields.get("prompt") is None:
            self.error(base, f"asset `{name}` has no prompt", "add `prompt: ...` to it or to `defaults`",
                       key=True)
        model, model_path = text_field("model")
        model = model or catalog.DEFAULT_MODEL
        info = catalog.MODELS.get(model)
        if info is None:
            self.error(model_path, f"unknown model `{model}` for provider `{provider}`",
                       f"known models: {', '.join(sorted(catalog.MODELS))}")
            return None
        size, size_path = text_field("size")
        size = size or info.default_size
        if size not in info.pixels:
            self.error(size_path, f"size `{size}` is not offered by {model}",
                       f"sizes: {' '.join(info.sizes)} (quote them: \"16:9\")")
        quality, quality_path = text_field("quality")
        quality = quality or info.default_quality
        if quality not in info.credits:
            self.error(quality_path, f"quality `{quality}` is not offered by {model}",
                       f"qualities: {', '.join(info.qualities)}")

        seed_value, seed_path = get("seed")
        seed_derived = seed_value is None
        if seed_derived:
            seed = derive_seed(name, info.seed_min, info.seed_max)
        elif isinstance(seed_value, bool) or not isinstance(seed_value, int):
            self.error(seed_path, f"seed must be an integer, not {seed_value!r}")
            seed = 0
        else:
            seed = seed_value
            if not info.seed_min <= seed <= info.seed_max:
                self.error(seed_path, f"seed {seed} is outside {info.seed_min}..{info.seed_max}",
                           "omit it to derive a stable seed from the asset's name")

        nsfw_value, nsfw_path = get("nsfw_check")
        if nsfw_value is not None and not isinstance(nsfw_value, bool):
            self.error(nsfw_path, f"nsfw_check must be true or false, not {nsfw_value!r}")
        nsfw = bool(nsfw_value)

        callback_url, cb_path = text_field("callback_url")
        if callback_url is not None:
            problem = callback_url_problem(callback_url)
            if problem:
                self.error(cb_path, f"callback_url {problem}", "use an https:// URL on a public host")

        if prompt is not None:
            prompt = prompt.strip()
            if not prompt:
                self.error(prompt_path, "prompt is empty")
            tokens = catalog.estimate_tokens(prompt)
            if tokens > info.prompt_max_tokens:
                self.error(prompt_path,
                           f"prompt is about {tokens} tokens; {model} accepts at most {info.prompt_max_tokens}",
                           "shorten it (the count is a conservative estimate: see the README)")

        output = self._output(name, fields, context, output_dir, base)

        if len(self.diags) != before or prompt is None or output is None:
            return None
        width, height = info.pixels[size][quality]
        request = {"provider": provider, "model": model, "prompt": prompt, "size": size,
                   "quality": quality, "seed": seed, "nsfw_check": nsfw}
        return AssetSpec(
            name=name, provider=provider, model=model, prompt=prompt, size=size, quality=quality,
            seed=seed, nsfw_check=nsfw, output=output, width=width, height=height,
            credits=self.price(provider, model, quality), spec_hash=spec_hash(request),
            seed_derived=seed_derived, callback_url=callback_url,
        )

    def _output(
        self, name: str, fields: dict[str, tuple[Any, Path]], context: Mapping[str, str],
        output_dir: str, base: Path,
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
        if rel.startswith("/") or "\\" in rel or re.match(r"^[A-Za-z]:", rel):
            self.error(path, f"output `{rel}` must be a relative path with `/` separators",
                       "it is relative to output_dir")
            return None
        norm = posixpath.normpath(rel)
        if norm == ".." or norm.startswith("../") or norm == ".":
            self.error(path, f"output `{rel}` leaves output_dir `{output_dir}`",
                       "keep outputs inside output_dir, or change output_dir")
            return None
        ext = norm.rsplit(".", 1)[-1].lower() if "." in posixpath.basename(norm) else ""
        if ext not in FORMATS:
            self.error(path, f"output `{rel}` has no image extension",
                       "end it with .png, .jpg, .jpeg or .webp (the extension picks the format)")
            return None
        full = posixpath.normpath(posixpath.join(output_dir, norm))
        return full

    def _register(
        self, spec: AssetSpec, origin: Path, names: dict[str, Path], outputs: dict[str, tuple[str, str]]
    ) -> None:
        if spec.name in names:
            first = names[spec.name]
            line = self.pos.of(first, key=True)[0]
            self.error(origin, f"asset name `{spec.name}` is defined twice (first at line {line})",
                       "names must be unique after matrix expansion", key=True)
        else:
            names[spec.name] = origin
        folded = spec.output.casefold()
        if folded in outputs:
            other, other_output = outputs[folded]
            case_only = "" if other_output == spec.output else f" (and `{other_output}`: paths differ only in case)"
            where = (*origin, "output")
            has_output = where in self.pos.values
            self.error(where if has_output else origin,
                       f"assets `{other}` and `{spec.name}` both write `{spec.output}`{case_only}",
                       "give one of them another `output`", key=not has_output)
        else:
            outputs[folded] = (spec.name, spec.output)
