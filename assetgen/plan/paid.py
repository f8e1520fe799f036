"""Tasks a killed build paid for count as paid in the plan: collecting them is free.

A build killed (or stopped) while tasks ran leaves them in the journal; the next
build polls them instead of submitting (evolink_task.py). The plan, and with it
``--max-credits``, would otherwise price those assets again from the table and
refuse a build that costs nothing. The journal is read only when a build left
something behind (its ``building`` marker or its ``pending`` file), so a null plan
never opens it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from .planner import Plan

if TYPE_CHECKING:
    from ..project import Project


def journalled_tasks(project: Project, providers: Iterable[str]) -> frozenset[str]:
    """Spec hashes with a paid task of any of ``providers`` in the journal (empty when
    none can be read). A mixed manifest passes every provider its assets use: a spec
    hash names its provider, so a task can only ever match its own assets."""
    if not (project.running_marker.exists() or project.state_file("pending").exists()):
        return frozenset()
    from ..build.journal import task_hashes  # sqlite3 only when there is a journal to read

    journal = project.state_file("journal.db")
    return frozenset().union(*(task_hashes(journal, p) for p in sorted(set(providers))))


def mark_paid(plan: Plan, paid: frozenset[str]) -> Plan:
    """``plan`` with every generation that has a journalled task priced 0 and marked paid."""
    if not paid:
        return plan
    return Plan(
        tuple(
            replace(a, credits=0.0, paid=True)
            if a.generates and a.spec is not None and a.spec.spec_hash in paid
            else a
            for a in plan.actions
        ),
        plan.derived,
    )
