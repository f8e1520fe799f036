"""From manifest bytes to validated, frozen AssetSpecs, with every problem located.

Validation and resolution are one pass because most semantic checks (unique names,
colliding outputs, unknown ${vars}) only make sense after matrix expansion. The pass
never stops at the first problem: it collects them all and raises one ManifestError.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from .. import catalog
from ..errors import ManifestError
from ..providers import PROVIDERS
from ..schema import shipped as schema
from ..schema import yamlpos
from ..schema.yamlpos import Path
from ..spec import AssetSpec, Manifest, derive_seed, spec_hash
from .derived import project_presets, resolve_derived
from .rules import (
    DEFAULT_OUTPUT_DIR,
    DEFAULT_PROVIDER,
    FieldRules,
    Fields,
    PriceFn,
    _referenced,
    _text,
)


def parse_manifest(
    data: bytes,
    filename: str,
    *,
    provider: str | None = None,
    providers: Iterable[str] = PROVIDERS,
    price: PriceFn | None = None,
    origins: dict[str, list[str]] | None = None,
) -> Manifest:
    """Validate and resolve a manifest; raise ManifestError listing every problem.

    ``provider`` overrides the manifest's own (``--provider``); ``price`` gives the
    credits one generation costs (default: the catalog price, nothing for ``draft``).
    ``origins``, when given, is filled with each asset entry's key (in document order)
    and the names of the specs it expanded to.
    """
    doc, positions, problems = yamlpos.load_all_problems(data, filename)
    resolver = _Resolver(filename, positions, tuple(providers), price or catalog_price)
    resolver.diags.extend(problems)  # duplicate keys: reported with everything else
    resolver.origins = origins
    return resolver.run(doc, provider)


def catalog_price(provider: str, model: str, quality: str) -> float:
    if provider == "draft":
        return 0.0
    info = catalog.MODELS.get(model)
    return info.credits.get(quality, 0.0) if info else 0.0


class _Resolver(FieldRules):
    def run(self, doc: Any, provider_override: str | None) -> Manifest:
        if not isinstance(doc, dict):
            self.error(
                (),
                "the manifest must be a mapping with `version` and `assets`",
                "start from `assetgen init`",
            )
            raise ManifestError(self.diags)
        bad_assets: set[str] = set()
        for where, diag in schema.problems("manifest", doc, self.pos, self.filename):
            self.diags.append(diag)
            if len(where) >= 2 and where[0] == "assets":
                bad_assets.add(str(where[1]))  # resolving it would only repeat the problem
            elif len(where) >= 2 and where[0] == "defaults":
                self.bad_defaults.add(str(where[1]))

        provider = provider_override or doc.get("provider") or DEFAULT_PROVIDER
        if not isinstance(provider, str) or provider not in self.providers:
            provider = DEFAULT_PROVIDER
        output_dir = self._check_output_dir(doc.get("output_dir", DEFAULT_OUTPUT_DIR))
        cache = doc.get("cache")
        remote = self._check_remote(cache.get("remote")) if isinstance(cache, dict) else None

        raw_vars = doc.get("vars") or {}
        variables = (
            {str(k): _text(v) for k, v in raw_vars.items()} if isinstance(raw_vars, dict) else {}
        )
        defaults = doc.get("defaults") or {}
        known = set(schema.default_fields())
        defaults = (
            {k: v for k, v in defaults.items() if k in known} if isinstance(defaults, dict) else {}
        )
        assets = doc.get("assets") or {}
        if not isinstance(assets, dict):
            assets = {}

        self.presets = project_presets(doc)
        specs: list[AssetSpec] = []
        templates: dict[str, str] = {}
        names: dict[str, tuple[Path, str]] = {}
        outputs: dict[str, tuple[str, str, str]] = {}
        for template, body in assets.items():
            if not isinstance(body, dict) or template in bad_assets:
                continue  # the schema already said why
            expanded = self.origins.setdefault(template, []) if self.origins is not None else []
            for spec in self._expand(template, body, defaults, variables, provider, output_dir):
                if self._register(spec, template, names, outputs):
                    specs.append(spec)
                    templates[spec.name] = template
                    expanded.append(spec.name)
        self._check_derived_paths(specs, templates)
        if self.diags:
            raise ManifestError(self.diags)
        specs.sort(key=lambda s: s.name)
        return Manifest(
            provider=provider, output_dir=output_dir, specs=tuple(specs), remote_cache=remote
        )

    def _expand(
        self,
        template: str,
        body: dict[str, Any],
        defaults: dict[str, Any],
        variables: dict[str, str],
        provider: str,
        output_dir: str,
    ) -> Iterable[AssetSpec]:
        base: Path = ("assets", template)
        matrix = body.get("matrix") or {}
        keys = list(matrix)
        used_in_name = _referenced(template)
        ok = True
        for key in keys:
            if key not in used_in_name:
                ok = False
                self.error(
                    (*base, "matrix", key),
                    f"matrix key `{key}` is not used in the asset name `{template}`",
                    f"add `${{{key}}}` to the name so every expanded name is unique",
                    key=True,
                )
            seen: set[str] = set()
            for i, value in enumerate(matrix[key]):
                if _text(value) in seen:
                    ok = False
                    self.error(
                        (*base, "matrix", key, i),
                        f"matrix `{key}` lists `{_text(value)}` twice",
                        "each value gives one asset; remove the repeat",
                    )
                seen.add(_text(value))
        if not ok or not self._fits(template, [len(matrix[k]) for k in keys]):
            return
        for combo in itertools.product(*(list(enumerate(matrix[k])) for k in keys)):
            row = {k: (v, (*base, "matrix", k, i)) for k, (i, v) in zip(keys, combo, strict=True)}
            context = {**variables, **{k: _text(v) for k, (v, _) in row.items()}}
            spec = self._resolve_one(template, body, defaults, row, context, provider, output_dir)
            if spec is not None:
                yield spec

    def _resolve_one(
        self,
        template: str,
        body: dict[str, Any],
        defaults: dict[str, Any],
        row: dict[str, tuple[Any, Path]],
        context: dict[str, str],
        provider: str,
        output_dir: str,
    ) -> AssetSpec | None:
        base: Path = ("assets", template)
        before = len(self.diags)
        name = self._sub(base, template, context, key=True)
        if name is None:
            return None
        self._check_name(name, template, row)

        # Precedence: defaults < asset < matrix row; remember where each value came from.
        fields: Fields = {k: (v, ("defaults", k)) for k, v in defaults.items()}
        fields.update({k: (v, (*base, k)) for k, v in body.items() if k != "matrix"})
        field_names = set(schema.asset_fields()) - {"matrix", "output"}
        fields.update({k: vw for k, vw in row.items() if k in field_names})
        if any(
            where[0] == "defaults" and k in self.bad_defaults for k, (_, where) in fields.items()
        ):
            return None  # inherits a default the schema rejected: reported once, there

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
        if "prompt" not in fields:
            self.error(
                base,
                f"asset `{name}` has no prompt",
                "add `prompt: ...` to it, or to `defaults:`",
                key=True,
            )
        model, model_path = text_field("model")
        model = model or catalog.DEFAULT_MODEL
        info = catalog.MODELS.get(model)
        if info is None:
            self.error(
                model_path,
                f"unknown model `{model}` for provider `{provider}`",
                f"known models: {', '.join(sorted(catalog.MODELS))}",
            )
            return None
        size, size_path = text_field("size")
        size = size or info.default_size
        if size not in info.pixels:
            self.error(
                size_path,
                f"size `{size}` is not offered by {model}",
                f"sizes: {', '.join(info.sizes)}",
            )
        quality, quality_path = text_field("quality")
        quality = quality or info.default_quality
        if quality not in info.credits:
            self.error(
                quality_path,
                f"quality `{quality}` is not offered by {model}",
                f"qualities: {', '.join(info.qualities)}",
            )

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
                self.error(
                    seed_path,
                    f"seed {seed} is outside {info.seed_min}..{info.seed_max}",
                    "omit `seed` to derive a stable one from the asset's name",
                )

        nsfw_value, nsfw_path = get("nsfw_check")
        if nsfw_value is not None and not isinstance(nsfw_value, bool):
            self.error(nsfw_path, f"nsfw_check must be true or false, not {nsfw_value!r}")
        nsfw = bool(nsfw_value)

        callback_url, cb_path = text_field("callback_url")
        if callback_url is not None:
            from ..urls import callback_url_problem  # ipaddress and socket, only when needed

            problem = callback_url_problem(callback_url)
            if problem:
                hint = (
                    None if "characters long" in problem else "use an https:// URL on a public host"
                )
                self.error(cb_path, f"callback_url {problem}", hint)

        if prompt is not None:
            prompt = prompt.strip()
            if not prompt:
                self.error(prompt_path, "prompt is blank", "describe the image to generate")
            tokens = catalog.estimate_tokens(prompt)
            if tokens > info.prompt_max_tokens:
                self.error(
                    prompt_path,
                    f"prompt is about {tokens} tokens; {model} accepts at most "
                    f"{info.prompt_max_tokens}",
                    "shorten it (the count is a conservative estimate: see the README)",
                )

        output = self._output(name, fields, context, output_dir, base)

        if len(self.diags) != before or prompt is None or output is None:
            return None
        width, height = info.pixels[size][quality]
        derive_value, derive_path = get("derive")
        derived = resolve_derived(
            self,
            derive_value,
            derive_path,
            name=name,
            master=output,
            master_size=(width, height),
            context=context,
            output_dir=output_dir,
            presets=self.presets,
        )
        if derived is None:
            return None
        request = {
            "provider": provider,
            "model": model,
            "prompt": prompt,
            "size": size,
            "quality": quality,
            "seed": seed,
            "nsfw_check": nsfw,
        }
        return AssetSpec(
            name=name,
            provider=provider,
            model=model,
            prompt=prompt,
            size=size,
            quality=quality,
            seed=seed,
            nsfw_check=nsfw,
            output=output,
            width=width,
            height=height,
            credits=self.price(provider, model, quality),
            spec_hash=spec_hash(request),
            seed_derived=seed_derived,
            callback_url=callback_url,
            derived=derived,
        )

    def _check_derived_paths(self, specs: list[AssetSpec], templates: dict[str, str]) -> None:
        """A derived path may be no other asset's output and no other asset's derived file."""
        if not any(s.derived for s in specs):
            return
        taken = {s.output.casefold(): (s.name, "output") for s in specs}
        for spec in specs:
            for path, _ in spec.derived:
                folded = path.casefold()
                other = taken.get(folded)
                if other is None:
                    taken[folded] = (spec.name, "derived file")
                    continue
                where: Path = ("assets", templates[spec.name], "derive")
                if where not in self.pos.values:
                    where = ("defaults", "derive")
                self.error(
                    where,
                    f"`{spec.name}` derives `{path}`, which is already asset `{other[0]}`'s {other[1]}",
                    "give the derived file another `output` (${name} keeps them apart)",
                )

    def _register(
        self,
        spec: AssetSpec,
        template: str,
        names: dict[str, tuple[Path, str]],
        outputs: dict[str, tuple[str, str, str]],
    ) -> bool:
        """Record a resolved spec; False (with a located error) when it clashes with another."""
        origin: Path = ("assets", template)
        if spec.name in names:
            first, first_template = names[spec.name]
            if first_template == template:
                message = f"`{template}` expands to `{spec.name}` more than once"
            else:
                line = self.pos.of(first, key=True)[0]
                expanded = f" (expanded from `{template}`)" if spec.name != template else ""
                message = (
                    f"asset name `{spec.name}`{expanded} is already used (first at line {line})"
                )
            self.error(origin, message, "names must be unique after matrix expansion", key=True)
            return False
        names[spec.name] = (origin, template)
        folded = spec.output.casefold()
        if folded in outputs:
            other, other_output, other_template = outputs[folded]
            if other_template == template and other_output == spec.output:
                keys = " ".join(f"`${{{k}}}`" for k in sorted(_referenced(template)))
                message = f"every `{template}` asset writes the same `{spec.output}`"
                hint = f"use the matrix keys in `output` ({keys}) so each gets its own file"
            elif other_output == spec.output:
                message = f"assets `{other}` and `{spec.name}` both write `{spec.output}`"
                hint = "give one of them another `output`"
            else:
                message = (
                    f"assets `{other}` and `{spec.name}` write `{other_output}` and "
                    f"`{spec.output}`, which differ only in case"
                )
                hint = "they are the same file on macOS and Windows; rename one"
            where = (*origin, "output")
            has_output = where in self.pos.values
            self.error(where if has_output else origin, message, hint, key=not has_output)
            return False
        outputs[folded] = (spec.name, spec.output, template)
        return True
