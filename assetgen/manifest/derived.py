"""An asset's ``derive:`` list, resolved: presets expanded, ${vars} substituted, each
recipe checked against its master and made canonical (derive/recipe.py).

Every problem is located at the item it comes from (a recipe of a preset, at the
``{preset: NAME}`` item that brought it in, naming the preset), and resolution goes
on, so one pass reports them all.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from ..derive.recipe import RecipeError, canonical_json, canonical_recipe
from ..outpaths import derived_path_problem, shown
from ..schema.yamlpos import Path
from .rules import FieldRules, _bad_path, _escapes

Derived = tuple[tuple[str, str], ...]  # AssetSpec.derived: (path, canonical JSON)


def project_presets(doc: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    raw = doc.get("presets")
    if not isinstance(raw, dict):
        return {}
    return {
        str(k): [dict(i) for i in v if isinstance(i, dict)]
        for k, v in raw.items()
        if isinstance(v, list)
    }


def resolve_derived(
    rules: FieldRules,
    value: Any,
    where: Path,
    *,
    name: str,
    master: str,
    master_size: tuple[int, int],
    context: Mapping[str, str],
    output_dir: str,
    presets: Mapping[str, list[dict[str, Any]]],
) -> Derived | None:
    """The canonical derived outputs of asset ``name`` (whose image is ``master``, a
    path relative to the manifest's folder), or None after reporting a problem."""
    if not value:
        return ()
    if not isinstance(value, list):
        return None  # the schema said why
    # ${stem}: the master's path under output_dir without its extension, so a preset's
    # files land beside their master (icons/home.png -> icons/home/favicon/...).
    inside = master if output_dir in ("", ".") else posixpath.relpath(master, output_dir)
    stem, _, ext = inside.rpartition(".")
    ctx = {**context, "name": name, "stem": stem, "ext": ext}
    if not _within_limit(rules, value, where, name, presets):
        return None
    before = len(rules.diags)
    out: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            continue
        at: Path = (*where, i)
        recipes = _preset(rules, item, at, presets) if "preset" in item else [(item, "")]
        for raw, origin in recipes:
            got = _one(rules, raw, at, origin, ctx, output_dir, master_size)
            if got is None:
                continue
            path, canon = got
            folded = path.casefold()
            if folded == master.casefold():
                rules.error(
                    at,
                    f"{origin}derived output `{path}` is the asset's own image",
                    "give the derived file another name",
                )
            elif folded in seen:
                rules.error(
                    at,
                    f"{origin}two recipes of `{name}` write `{path}` (the first in item {seen[folded] + 1})",
                    "give one of them another `output`",
                )
            else:
                seen[folded] = i
                out.append((path, canon))
    if len(rules.diags) != before:
        return None
    return tuple(out)


def _within_limit(
    rules: FieldRules,
    value: list[Any],
    where: Path,
    name: str,
    presets: Mapping[str, list[dict[str, Any]]],
) -> bool:
    """Whether the ``derive:`` list stays within MAX_DERIVED files, counted before any
    preset is expanded (nested presets can multiply: the count costs one pass over
    them, an expansion could cost millions of copies). A bad preset counts nothing
    here: ``_preset`` reports it."""
    from ..derive.engine import MAX_DERIVED, preset_size

    total = 0
    for item in value:
        if not isinstance(item, dict):
            continue
        if "preset" not in item:
            total += 1
            continue
        try:
            total += preset_size(str(item["preset"]), presets)
        except ValueError:
            continue
    if total <= MAX_DERIVED:
        return True
    rules.error(
        where,
        f"`{name}` derives {total} files, more than the limit of {MAX_DERIVED} an asset may have",
        "derive fewer files per asset: a preset that lists presets multiplies their recipes",
        key=True,
    )
    return False


def _preset(
    rules: FieldRules, item: dict[str, Any], at: Path, presets: Mapping[str, list[dict[str, Any]]]
) -> list[tuple[dict[str, Any], str]]:
    from ..derive.engine import builtin_presets, expand_preset

    preset = item["preset"]
    extra = [k for k in item if k != "preset"]
    if extra:
        rules.error(
            (*at, extra[0]),
            f"`{extra[0]}` next to `preset`: a preset item names the preset alone",
            "write the recipe as an item of its own",
            key=True,
        )
        return []
    known = sorted({*builtin_presets(), *presets})
    if preset not in known:
        import difflib

        close = difflib.get_close_matches(str(preset), known, n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"presets: {', '.join(known)}"
        rules.error((*at, "preset"), f"unknown preset `{preset}`", hint)
        return []
    try:
        recipes = expand_preset(str(preset), presets)
    except ValueError as exc:
        rules.error(
            (*at, "preset"),
            f"preset `{preset}` cannot be expanded: {exc}",
            "a preset may not use itself, directly or through others"
            if "cycle" in str(exc)
            else "each item of a preset is a recipe or {preset: NAME}",
        )
        return []
    return [(r, f"preset `{preset}`: ") for r in recipes]


def _expand(rules: FieldRules, at: Path, value: Any, ctx: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return rules._sub(at, value, ctx)
    if isinstance(value, list):
        return [_expand(rules, at, v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: _expand(rules, at, v, ctx) for k, v in value.items()}
    return value


def _one(
    rules: FieldRules,
    raw: dict[str, Any],
    at: Path,
    origin: str,
    ctx: Mapping[str, str],
    output_dir: str,
    master_size: tuple[int, int],
) -> tuple[str, str] | None:
    own = not origin  # a recipe written in the asset: locate at its keys
    template = raw.get("output")
    if not isinstance(template, str):
        rules.error(at, f"{origin}a recipe needs an `output` path", "such as `${name}@2x.webp`")
        return None
    out_at: Path = (*at, "output") if own else at
    rel = rules._sub(out_at, template, ctx)
    if rel is None:
        return None
    if _bad_path(rel) or _escapes(posixpath.normpath(rel)) or posixpath.normpath(rel) == ".":
        rules.error(
            out_at,
            f"{origin}derived output `{shown(rel)}` is outside output_dir `{output_dir}`",
            "paths are relative to output_dir, with `/` separators",
        )
        return None
    rel = posixpath.normpath(rel)
    full = posixpath.normpath(posixpath.join(output_dir, rel))
    problem = derived_path_problem(full)
    if problem is not None:
        rules.error(out_at, f"{origin}derived output `{shown(rel)}` {problem}")
        return None
    before = len(rules.diags)
    params = raw.get("params")
    body = dict(raw)
    if params is not None:
        body["params"] = _expand(rules, at, params, ctx)
    if len(rules.diags) != before:
        return None
    try:
        canon = canonical_recipe(body, rel)
    except RecipeError as exc:
        key_at = (*at, exc.key, *exc.where) if own and exc.key and exc.key in raw else at
        rules.error(key_at, f"{origin}{exc}", exc.hint)
        return None
    from ..derive.engine import check_recipe

    reason = check_recipe(master_size, canon)
    if reason is not None:
        rules.error(at, f"{origin}`{rel}` cannot be made: {reason}")
        return None
    return full, canonical_json(canon)
