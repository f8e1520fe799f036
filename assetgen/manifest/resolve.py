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
from ..catalog.project import EntryProblem, project_models
from ..errors import ManifestError
from ..providers import PROVIDERS, is_provider, unknown_provider_hint
from ..schema import shipped as schema
from ..schema import yamlpos
from ..schema.yamlpos import Path
from ..spec import AssetSpec, Manifest, spec_hash
from . import models
from .clashes import ClashRules
from .derived import project_presets, resolve_derived
from .models import catalog_price
from .rules import (
    DEFAULT_OUTPUT_DIR,
    DEFAULT_PROVIDER,
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
    providers: Iterable[str] | None = None,
    price: PriceFn | None = None,
    origins: dict[str, list[str]] | None = None,
) -> Manifest:
    """Validate and resolve a manifest; raise ManifestError listing every problem.

    ``provider`` overrides the manifest's own (``--provider``; the caller checks it).
    ``providers`` limits the names ``provider:`` may take; by default the built-in ones
    and those installed packages declare (looked up only for a name not built in).
    ``price`` gives one generation's credits (default: the catalog price; draft is free).
    ``origins``, when given, is filled with each asset entry's key (in document order)
    and the names of the specs it expanded to.
    """
    doc, positions, problems = yamlpos.load_all_problems(data, filename)
    names = PROVIDERS if providers is None else tuple(providers)
    resolver = _Resolver(filename, positions, names, price or catalog_price)
    resolver.plugins = providers is None
    resolver.diags.extend(problems)  # duplicate keys: reported with everything else
    resolver.origins = origins
    return resolver.run(doc, provider)


class _Resolver(ClashRules):
    plugins = True  # besides ``providers``, any name an installed package declares

    def run(self, doc: Any, provider_override: str | None) -> Manifest:
        if not isinstance(doc, dict):
            self.error(
                (),
                "the manifest must be a mapping with `version` and `assets`",
                "start from `assetgen init`",
            )
            raise ManifestError(self.diags)
        bad_assets: set[str] = set()
        bad_models: set[str] = set()
        for where, diag in schema.problems("manifest", doc, self.pos, self.filename):
            self.diags.append(diag)
            if len(where) >= 2 and where[0] == "assets":
                bad_assets.add(str(where[1]))  # resolving it would only repeat the problem
            elif len(where) >= 2 and where[0] == "defaults":
                self.bad_defaults.add(str(where[1]))
            elif len(where) >= 2 and where[0] == "models":
                bad_models.add(str(where[1]))
        entry_problems: list[EntryProblem] = []
        declared = project_models(doc, catalog.MODELS, bad_models, entry_problems)
        for problem in entry_problems:
            self.error(("models", problem.entry, problem.key), str(problem), problem.hint)
        self.unusable_models = bad_models | {p.entry for p in entry_problems}
        self.models = catalog.merged(declared)

        provider = provider_override or doc.get("provider") or DEFAULT_PROVIDER
        if not isinstance(provider, str):
            provider = DEFAULT_PROVIDER  # the schema said why
        elif not self._known_provider(provider):
            if not provider_override:
                self._unknown_provider(provider)
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
        assets = found if isinstance(found := doc.get("assets"), dict) else {}
        seeds = doc.get("seeds") or {}  # name -> seed, as `assetgen pick` writes them
        self.seeds: dict[str, Any] = seeds if isinstance(seeds, dict) else {}

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
        if not self.diags:  # else a name may be missing only because its entry is wrong
            for name in self.seeds:
                if name not in names:
                    self.error(
                        ("seeds", name),
                        f"seeds: `{name}` names no asset",
                        "use a name as `assetgen plan` lists it, or remove the entry",
                        key=True,
                    )
        self._check_derived_paths(specs, templates)
        if self.diags:
            raise ManifestError(self.diags)
        specs.sort(key=lambda s: s.name)
        return Manifest(
            provider=provider, output_dir=output_dir, specs=tuple(specs), remote_cache=remote
        )

    def _known_provider(self, name: str) -> bool:
        if name in self.providers:
            return True
        return self.plugins and is_provider(name)

    def _unknown_provider(self, name: str) -> None:
        known = list(self.providers)
        if self.plugins:
            from ..providers import available_providers

            known = list(available_providers())
        import json

        shown = ", ".join(json.dumps(n) for n in known)
        self.error(
            ("provider",),
            f"provider must be one of {shown}, not {json.dumps(name)}",
            unknown_provider_hint(name),
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
        if name in self.seeds:  # `seeds:` pins one expanded name: above all of the above
            fields["seed"] = (self.seeds[name], ("seeds", name))
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
        model_value, model_path = text_field("model")
        model = models.model_name(model_value, provider)
        info = self.models.get(model)
        if info is None:
            if model in self.unusable_models:
                return None  # its `models:` entry's own error says why
            self.error(
                model_path,
                f"{models.dotted(model_path)} must be one of "
                f'{models.one_of(models.known_for(self.models, provider))}, not "{model}"',
                "or declare it under `models:` (see the README's catalog section)",
            )
            return None
        asset_provider = models.served_by(info, provider)
        if not self._known_provider(asset_provider):
            self.error(
                model_path,
                f"{model} is served by provider `{asset_provider}`, which is not installed",
                f"providers: {', '.join(self.providers)}",
            )
            return None
        size, size_path = text_field("size")
        size = size or info.default_size
        size_problem = info.size_problem(size)
        if size_problem == "not offered":
            self.error(
                size_path,
                f"{models.dotted(size_path)} must be one of {models.one_of(info.sizes)}"
                + (f" or {info.size_rule.describe()}" if info.size_rule else "")
                + f', not "{size}"',
            )
        elif size_problem is not None:
            self.error(size_path, f"size `{size}` for {model}: {size_problem}")
        quality, quality_path = text_field("quality")
        quality = quality or info.default_quality
        if quality not in info.qualities:
            self.error(
                quality_path,
                f"{models.dotted(quality_path)} must be one of {models.one_of(info.qualities)}, "
                f'not "{quality}"',
            )

        seed_value, seed_path = get("seed")
        seed, seed_derived = self._seed(info, name, seed_value, seed_path)

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
            too_long = models.prompt_problem(info, prompt)
            if too_long is not None:
                self.error(
                    prompt_path,
                    too_long,
                    "shorten it (the count is a conservative estimate: see the README)",
                )

        output = self._output(name, fields, context, output_dir, base)

        if len(self.diags) != before or prompt is None or output is None:
            return None
        dims = info.dimensions(size, quality)
        if dims is None:  # a size and a quality that are each offered, but not together
            self.error(size_path, f"{model} has no pixel size for size `{size}` at `{quality}`")
            return None
        width, height = dims
        credits, credits_max = self._priced(asset_provider, info, size, quality, prompt, model_path)
        if credits is None:
            return None
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
            "provider": asset_provider,
            "model": model,
            "prompt": prompt,
            "size": size,
            "quality": quality,
            "seed": seed,
            "nsfw_check": nsfw,
        }
        return AssetSpec(
            name=name,
            provider=asset_provider,
            model=model,
            prompt=prompt,
            size=size,
            quality=quality,
            seed=seed,
            nsfw_check=nsfw,
            output=output,
            width=width,
            height=height,
            credits=credits,
            spec_hash=spec_hash(request),
            seed_derived=seed_derived,
            credits_max=credits_max if credits_max != credits else None,
            reproducible=info.seeded,
            fields=() if catalog.MODELS.get(model) is info else info.fields,
            callback_url=callback_url,
            derived=derived,
            token_usd_per_m=(
                (info.token_price.input_usd_per_m, info.token_price.output_usd_per_m)
                if info.billing == "per_token" and info.token_price is not None
                else None
            ),
            seed_min=info.seed_min,
            seed_max=info.seed_max,
            model_credits=info.price_range(size, quality, prompt)
            if asset_provider == "draft" and self.price is catalog_price
            else None,
        )
