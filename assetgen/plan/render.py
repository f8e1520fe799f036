"""A Plan for people (a Terraform-like diff) and for machines (the ``plan --json`` object)."""

from __future__ import annotations

import json
import os
from typing import IO, Any

from .actions import DERIVED_ACTIONS, DerivedAction, derived_changes, derived_summary
from .planner import ACTIONS, GENERATING, Action, Plan

SYMBOLS = {
    "create": "+", "update": "~", "restore": "*", "move": ">", "delete": "-", "noop": " ",
    "modified": "!",
}  # fmt: skip
_COLOURS = {
    "create": "32", "update": "33", "restore": "36", "move": "34", "delete": "31",
    "modified": "35",
}  # fmt: skip
VERBS = {
    "create": "to create",
    "update": "to update",
    "restore": "to restore",
    "move": "to move",
    "delete": "to delete",
    "noop": "up to date",
    "modified": "modified (kept)",
}
KEPT_HINT = (
    "`assetgen adopt NAME` records the file as the asset's output; "
    "`assetgen build --force NAME` replaces it with the generated image"
)


def use_colour(stream: IO[str]) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


def credits_text(value: float) -> str:
    return f"{value:.2f}"


def _paint(text: str, code: str | None, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else json.dumps(value)


REASON_WIDTH = 36  # reasons and paths longer than this are not padded: columns stay tidy
PATH_WIDTH = 44
WRAP = 96  # a change whose line would be longer goes on two lines


def action_cost(a: Action) -> str:
    """``0.45 cr``, ``cached``, ``paid`` (a journalled task to collect), ``free`` or
    ``kept``: what this action costs."""
    if a.action == "modified":
        return "kept"
    if a.action in GENERATING:
        if a.cached:
            return "cached"
        if a.paid:
            return "paid"
        if not a.credits:
            return "free"
        cost = f"{credits_text(a.credits)} cr"
        if credits_text(a.credits_max) != credits_text(a.credits):
            cost = f"{credits_text(a.credits)}-{credits_text(a.credits_max)} cr"
        return cost
    return "free"


NO_SEED_NOTE = "no seed: generating again gives another image; the lock's bytes are the record"


def _note(a: Action) -> str | None:
    """Why a generation cannot be repeated: a seedless model's image is one of a kind."""
    if a.generates and a.spec is not None and not a.spec.reproducible:
        return NO_SEED_NOTE
    return None


def action_where(a: Action) -> str:
    if a.action == "move" and a.source and a.source != a.path:
        return f"{a.source} -> {a.path}"
    return a.path


def _pad(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text


def format_action(
    a: Action,
    colour: bool = False,
    *,
    name_width: int = 0,
    reason_width: int = 0,
    path_width: int = 0,
) -> list[str]:
    """One line for ``a`` (symbol, name, reason, path, cost), then one per changed field."""
    symbol = _paint(SYMBOLS[a.action], _COLOURS.get(a.action), colour)
    reason = _pad(a.reason, reason_width)
    where = _pad(action_where(a), path_width)
    line = f"  {symbol} {_pad(a.name, name_width)}  {_paint(reason, '2', colour)}  {where}"
    lines = [f"{line}  {action_cost(a)}"]
    indent = " " * (6 + max(name_width, len(a.name)))
    note = _note(a)
    if note is not None:
        lines.append(f"{indent}{_paint(note, '2', colour)}")
    for c in a.changes:
        old, new = _show(c.old), _show(c.new)
        if len(indent) + len(c.field) + len(old) + len(new) + 6 > WRAP:
            lines.append(f"{indent}{c.field}: {old}")
            lines.append(f"{indent}{' ' * len(c.field)}  -> {new}")
        else:
            lines.append(f"{indent}{c.field}: {old} -> {new}")
    return lines


def summary_line(plan: Plan) -> str:
    counts = plan.summary
    parts = [f"{counts[k]} {VERBS[k]}" for k in ACTIONS if k != "noop" and counts[k]]
    parts.append(f"{counts['noop']} up to date")
    hits = plan.cache_hits
    cache = f", {hits} from cache" if hits else ""
    total = credits_text(plan.credits)
    if credits_text(plan.credits_max) != total:
        total += f" to {credits_text(plan.credits_max)}"
    n = plan.paid_tasks
    paid = f", {n} paid task{'s' if n != 1 else ''} to collect" if n else ""
    return f"Plan: {', '.join(parts)}. Estimated cost: {total} credits{cache}{paid}."


def write_text(plan: Plan, out: IO[str], *, colour: bool = False) -> None:
    """The plan as people read it: one line per action to take, then a summary.

    ::

          + hero-home    new                      assets/hero-home.png   0.45 cr
          ~ icon-search  prompt changed           assets/icons/search.png  cached
                         prompt: "old" -> "new"
          > logo         renamed from logo-old    assets/old.png -> assets/logo.png  free

        Plan: 1 to create, 1 to update, 1 to move, 0 up to date. Estimated cost: ...

    Up-to-date assets are counted, not listed. Outputs build keeps (``!``, action
    ``modified``) are listed with the work, and a line says how to decide about them.
    Colour only when ``colour`` is true.
    """
    work = tuple(a for a in plan.actions if a.action != "noop")
    shown_derived = derived_changes(plan.derived)
    if not work and not shown_derived:
        n = len(plan.actions)
        out.write(f"No changes: {n} asset{'s' if n != 1 else ''} up to date.\n")
        return
    name_width = max((len(a.name) for a in work), default=0)
    reasons = [len(a.reason) for a in work if len(a.reason) <= REASON_WIDTH]
    paths = [len(action_where(a)) for a in work if len(action_where(a)) <= PATH_WIDTH]
    widths = {
        "name_width": name_width,
        "reason_width": max(reasons, default=0),
        "path_width": max(paths, default=0),
    }
    for a in work:
        out.write("\n".join(format_action(a, colour, **widths)) + "\n")
    if shown_derived:
        dwidth = max(len(d.name) for d in shown_derived)
        pwidth = max((len(d.path) for d in shown_derived if len(d.path) <= PATH_WIDTH), default=0)
        for d in shown_derived:
            out.write(format_derived(d, colour, name_width=dwidth, path_width=pwidth) + "\n")
    out.write("\n" + summary_line(plan) + "\n")
    if plan.derived:
        out.write(derived_line(plan) + "\n")
    if plan.kept:
        out.write(f"Kept ({SYMBOLS['modified']}): {KEPT_HINT}.\n")
    if plan.derived_kept:
        out.write(f"Kept derived files ({SYMBOLS['modified']}): {DERIVED_KEPT_HINT}.\n")


DERIVED_SYMBOLS = {
    "derive": "~",
    "restore": "*",
    "delete": "-",
    "forget": "?",
    "modified": "!",
    "noop": " ",
}
DERIVED_VERBS = {
    "derive": "to derive",
    "restore": "to restore",
    "delete": "to delete",
    "forget": "to forget (lock only, no file touched)",
    "modified": "modified (kept)",
    "noop": "up to date",
}
# One hint for every place that names kept derived files (plan, check, build, adopt).
DERIVED_KEPT_HINT = (
    "`assetgen build --rederive NAME` derives them again from the master "
    "(free; the master is not regenerated)"
)


def format_derived(
    d: DerivedAction, colour: bool = False, *, name_width: int = 0, path_width: int = 0
) -> str:
    """``~ hero-home  derive assets/og/home.jpg  width 1200 -> 1280  free``"""
    symbol = "+" if d.action == "derive" and d.locked is None else DERIVED_SYMBOLS[d.action]
    code = _COLOURS.get("create" if symbol == "+" else {"derive": "update"}.get(d.action, d.action))
    verb = {"modified": "keep"}.get(d.action, d.action)
    detail = d.change or d.reason
    cost = "kept" if d.action in ("modified", "forget") else "cached" if d.cached else "free"
    where = _pad(d.path, path_width)
    return (
        f"  {_paint(symbol, code, colour)} {_pad(d.name, name_width)}  {verb} {where}  "
        f"{_paint(detail, '2', colour)}  {cost}"
    )


def derived_line(plan: Plan) -> str:
    counts = derived_summary(plan.derived)
    parts = [
        f"{counts[k]} {DERIVED_VERBS[k]}" for k in DERIVED_ACTIONS if k != "noop" and counts.get(k)
    ]
    parts.append(f"{counts['noop']} up to date")
    hits = sum(1 for d in derived_changes(plan.derived) if d.cached and d.work)
    cache = f", {hits} from cache" if hits else ""
    return f"Derived files: {', '.join(parts)}. Free{cache}."


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "actions": [
            {
                "name": a.name,
                "action": a.action,
                "reason": a.reason,
                "cached": a.cached,
                "credits": a.credits,
                "path": a.path,
                **({"from": a.source} if a.action == "move" and a.source else {}),
                **({"renamed_from": a.old_name} if a.old_name else {}),
                **({"paid": True} if a.paid else {}),
                **({"credits_max": a.credits_max} if a.credits_max != a.credits else {}),
                **({"reproducible": False} if _note(a) else {}),
                **(
                    {"changes": [{"field": c.field, "old": c.old, "new": c.new} for c in a.changes]}
                    if a.changes
                    else {}
                ),
            }
            for a in plan.actions
        ],
        "summary": plan.summary,
        "credits": plan.credits,
        **({"credits_max": plan.credits_max} if plan.credits_max != plan.credits else {}),
        **({"paid_tasks": plan.paid_tasks} if plan.paid_tasks else {}),
        **(
            {
                "derived": [_derived_json(d) for d in plan.derived],
                "derived_summary": derived_summary(plan.derived),
            }
            if plan.derived
            else {}
        ),
    }


def _derived_json(d: DerivedAction) -> dict[str, Any]:
    return {
        "name": d.name,
        "action": d.action,
        "path": d.path,
        "reason": d.reason,
        "cached": d.cached,
        "credits": 0.0,
        **({"change": d.change} if d.change else {}),
        **({"recipe_hash": d.recipe_hash} if d.recipe_hash else {}),
        **({"recipe": json.loads(d.recipe)} if d.recipe else {}),
    }


def write_json(plan: Plan, out: IO[str]) -> None:
    json.dump(plan_json(plan), out, ensure_ascii=False, separators=(",", ":"))
    out.write("\n")
