"""A Plan for people (a Terraform-like diff) and for machines (the ``plan --json`` object)."""

from __future__ import annotations

import json
import os
from typing import IO, Any

from .plan import Action, Plan

SYMBOLS = {"create": "+", "update": "~", "restore": "*", "move": ">", "delete": "-", "noop": " "}
_COLOURS = {"create": "32", "update": "33", "restore": "36", "move": "34", "delete": "31"}
VERBS = {
    "create": "to create",
    "update": "to update",
    "restore": "to restore",
    "move": "to move",
    "delete": "to delete",
    "noop": "up to date",
}


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


def format_action(a: Action, colour: bool = False) -> list[str]:
    symbol = _paint(SYMBOLS[a.action], _COLOURS.get(a.action), colour)
    cost = ""
    if a.action in ("create", "update", "restore"):
        cost = "cached" if a.cached else (f"{credits_text(a.credits)} cr" if a.credits else "free")
    where = a.path
    if a.action == "move" and a.source and a.source != a.path:
        where = f"{a.source} -> {a.path}"
    line = f"  {symbol} {a.name}  {_paint(a.reason, '2', colour)}  [{where}]"
    if cost:
        line += f"  {cost}"
    lines = [line]
    for c in a.changes:
        old, new = _show(c.old), _show(c.new)
        if len(old) + len(new) > 70:
            lines.append(f"      {c.field}: {old}")
            lines.append(f"      {' ' * len(c.field)}  -> {new}")
        else:
            lines.append(f"      {c.field}: {old} -> {new}")
    return lines


def summary_line(plan: Plan) -> str:
    counts = plan.summary
    parts = [f"{counts[k]} {VERBS[k]}" for k in ("create", "update", "restore", "move", "delete") if counts[k]]
    parts.append(f"{counts['noop']} up to date")
    hits = plan.cache_hits
    cache = f", {hits} from cache" if hits else ""
    return f"Plan: {', '.join(parts)}. Estimated cost: {credits_text(plan.credits)} credits{cache}."


def write_text(plan: Plan, out: IO[str], *, colour: bool = False) -> None:
    work = plan.work
    if not work:
        n = len(plan.actions)
        out.write(f"No changes: {n} asset{'s' if n != 1 else ''} up to date.\n")
        return
    for a in work:
        out.write("\n".join(format_action(a, colour)) + "\n")
    out.write("\n" + summary_line(plan) + "\n")


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
    }


def write_json(plan: Plan, out: IO[str]) -> None:
    json.dump(plan_json(plan), out, ensure_ascii=False, separators=(",", ":"))
    out.write("\n")
