"""How a build tells people and machines what it is doing.

The builder only calls a Reporter; which one is chosen by the CLI: a live display
on a terminal, one line per finished asset otherwise, newline-delimited JSON with
``--json``, and a recording one in tests.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Protocol

from ..plan.render import credits_text

# The one vocabulary of a build's outcomes, in the bar and in the summary alike: done,
# failed, not started (nothing paid, nothing to show), and paid but still running on
# the gateway (the next build collects it without paying again).
STATES = ("queued", "running", "downloading", "done", "failed", "not started", "still running")


@dataclass(frozen=True, slots=True)
class JobResult:
    """The outcome of one action: failures are values, not exceptions."""

    name: str
    action: str
    ok: bool
    source: str  # generated | cache | moved | deleted | kept | failed | skipped | running
    path: str
    credits: float = 0.0  # what the gateway charged for it in this build
    error: str | None = None
    seconds: float = 0.0
    collected: float = 0.0  # a task an earlier build paid for (journalled, or replayed)
    listed: float = 0.0  # the price table's figure for what ``credits`` paid for
    listed_max: float | None = None  # its upper bound, for a token-billed model


@dataclass
class BuildSummary:
    actions: dict[str, int] = field(default_factory=dict)  # finished, per action
    generated: int = 0
    from_cache: int = 0
    failed: int = 0
    skipped: int = 0
    unfinished: int = 0  # this build's jobs whose paid task is still running (collected next time)
    credits: float = 0.0  # charged by the gateway in this build (its usage figures)
    seconds: float = 0.0
    interrupted: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)
    # Paid-work bookkeeping for remote providers:
    possible_double_charges: int = 0  # ambiguous submit retries, re-paid expired links
    still_running: int = 0  # tasks journalled at the end: the next build collects them
    credits_ran_out: bool = False  # HTTP 402: nothing more was submitted
    remaining: int = 0  # with credits_ran_out: assets left unbuilt
    unwanted_collected: int = 0  # paid tasks of specs no longer wanted, cached (orphans.py)
    unwanted_running: int = 0  # ... still running: a later build caches them
    kept: int = 0  # outputs edited by hand (plan action `modified`), left as they are
    credits_collected: float = 0.0  # of tasks earlier builds paid for, collected in this one
    tasks_collected: int = 0
    credits_listed: float = 0.0  # the price table's figure for what ``credits`` paid for
    credits_listed_max: float = 0.0  # the same at the top of token-billed ranges
    derived: int = 0  # derived files written (free; build/derive.py)
    derived_cached: int = 0  # ... of them from the cache, by recipe hash
    derived_deleted: int = 0
    derived_rerendered: int = 0  # same recipe, other bytes than the lock's (library versions)

    def add(self, r: JobResult) -> None:
        if not r.ok:
            if r.source == "skipped":
                self.skipped += 1
            elif r.source == "running":
                # Not a failure, not built: said once, from the journal, as still_running.
                self.unfinished += 1
            else:
                self.failed += 1
                self.failures.append((r.name, r.error or "failed"))
            return
        self.actions[r.action] = self.actions.get(r.action, 0) + 1
        if r.source == "generated":
            self.generated += 1
        elif r.source == "cache":
            self.from_cache += 1
        self.credits = round(self.credits + r.credits, 6)
        self.credits_listed = round(self.credits_listed + r.listed, 6)
        top = r.listed if r.listed_max is None else r.listed_max
        self.credits_listed_max = round(self.credits_listed_max + top, 6)
        if r.collected:
            self.tasks_collected += 1
            self.credits_collected = round(self.credits_collected + r.collected, 6)

    def charge_note(self) -> str | None:
        """One line when what the gateway charged is not what the price table says."""
        top = max(self.credits_listed, self.credits_listed_max)
        if self.credits_listed - 0.005 < self.credits < top + 0.005:
            return None
        table = credits_text(self.credits_listed)
        if top - self.credits_listed >= 0.005:
            table += f" to {credits_text(top)}"
        return (
            f"The gateway charged {credits_text(self.credits)} credits for this build; "
            f"the price table says {table}."
        )

    def text(self) -> str:
        if not (
            self.actions
            or self.failed
            or self.skipped
            or self.interrupted
            or self.still_running
            or self.derived
            or self.derived_deleted
        ):
            if self.kept:
                return f"Nothing to build; {self.kept} modified output{'s' if self.kept != 1 else ''} kept."
            return "Up to date: nothing to build."
        done = ", ".join(
            f"{n} {a}d" if a != "noop" else f"{n} unchanged"
            for a, n in sorted(self.actions.items())
        )
        parts = [done] if done else []
        parts.append(f"{self.generated} generated, {self.from_cache} from cache")
        if self.derived or self.derived_deleted:
            parts.append(
                f"{self.derived} derived file{'s' if self.derived != 1 else ''} written "
                f"({self.derived_cached} from cache)"
                + (f", {self.derived_deleted} deleted" if self.derived_deleted else "")
            )
        if self.derived_rerendered:
            n = self.derived_rerendered
            parts.append(
                f"{n} derived file{'s' if n != 1 else ''} rendered to other bytes than the "
                "lock's (another image library version): the lock records the new ones"
            )
        if self.kept:
            parts.append(f"{self.kept} modified output{'s' if self.kept != 1 else ''} kept")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.skipped:
            parts.append(f"{self.skipped} not started")
        if self.credits_ran_out:
            parts.append(
                f"{self.remaining} asset{'s' if self.remaining != 1 else ''} remain "
                "(top up, then build again)"
            )
        if self.still_running:
            n = self.still_running
            parts.append(
                f"{n} paid and still running (the next build collects them without paying again)"
            )
        parts.append(f"{credits_text(self.credits)} credits charged")
        if self.tasks_collected:
            n = self.tasks_collected
            parts.append(
                f"{n} paid task{'s' if n != 1 else ''} collected "
                f"({credits_text(self.credits_collected)} credits paid earlier)"
            )
        if self.possible_double_charges:
            n = self.possible_double_charges
            parts.append(f"{n} possible double charge{'s' if n != 1 else ''} (see warnings)")
        parts.append(f"{self.seconds:.1f}s")
        if self.interrupted:
            head = "Interrupted"
        elif self.credits_ran_out:
            head = "Credits ran out"
        else:
            head = (
                "Build failed"
                if self.failed
                else "Build incomplete"
                if self.unfinished
                else "Build done"
            )
        return f"{head}: " + "; ".join(parts) + "."


class Reporter(Protocol):
    def start(self, total: int, credits: float) -> None: ...
    def state(self, name: str, state: str) -> None: ...
    def finished(self, result: JobResult) -> None: ...
    def warn(self, message: str) -> None: ...
    def summary(self, summary: BuildSummary) -> None: ...


def outcome(r: JobResult) -> str:
    """The finished state of a result, in the build's vocabulary (see STATES)."""
    if r.ok:
        return "done"
    return {"skipped": "not started", "running": "still running"}.get(r.source, "failed")


class LineReporter:
    """No terminal: one line per finished asset, then the summary."""

    def __init__(self, out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.rate_warned = False

    def start(self, total: int, credits: float) -> None:
        if total:
            self.out.write(
                f"Building {total} asset{'s' if total != 1 else ''} "
                f"(estimated {credits_text(credits)} credits)\n"
            )

    def state(self, name: str, state: str) -> None:
        pass

    def finished(self, r: JobResult) -> None:
        if r.ok:
            cost = f", {credits_text(r.credits)} cr" if r.credits else ""
            if r.collected:
                cost += ", paid earlier"
            self.out.write(f"  {_VERB[r.action]} {r.name} ({r.source}{cost}) {r.path}\n")
        elif r.source == "running":
            self.out.write(f"  still running {r.name} ({r.error})\n")
        elif r.source != "skipped":
            self.out.write(f"  failed {r.name}: {r.error}\n")
        self.out.flush()

    def warn(self, message: str) -> None:
        self.err.write(f"warning: {message}\n")

    def rate_limited(self, note: str | None) -> None:
        """429s hold the build back: said once, when it starts, not once per 429."""
        if note is not None and not self.rate_warned:
            self.rate_warned = True
            self.warn(f"the gateway is rate limiting this build (HTTP 429): {note}")

    def summary(self, s: BuildSummary) -> None:
        if s.failures:
            self.out.write("Failed:\n")
            for name, why in s.failures:
                self.out.write(f"  {name}: {why}\n")
        self.out.write(s.text() + "\n")
        note = s.charge_note()
        if note:
            self.out.write(note + "\n")


_VERB = {
    "create": "created",
    "update": "updated",
    "restore": "restored",
    "move": "moved",
    "delete": "deleted",
    "noop": "kept",
}


class JsonReporter:
    """``--json``: one JSON object per line, one per state change, then a summary."""

    def __init__(self, out: IO[str] | None = None, *, hold_summary: bool = False) -> None:
        self.out = out or sys.stdout
        # The summary is the last line a machine reads; with ``hold_summary`` it waits for
        # ``release()``, so events that follow the build (the gallery) come before it.
        self.hold_summary = hold_summary
        self.held: BuildSummary | None = None
        self.rate_warned = False

    def _emit(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.out.flush()

    def start(self, total: int, credits: float) -> None:
        self._emit({"event": "start", "total": total, "estimated_credits": credits})

    def state(self, name: str, state: str) -> None:
        self._emit({"event": "state", "name": name, "state": state})

    def finished(self, r: JobResult) -> None:
        self._emit({"event": "finished", **asdict(r)})

    def warn(self, message: str) -> None:
        self._emit({"event": "warning", "message": message})

    def rate_limited(self, note: str | None) -> None:
        if note is not None and not self.rate_warned:
            self.rate_warned = True
            self.warn(f"the gateway is rate limiting this build (HTTP 429): {note}")

    def summary(self, s: BuildSummary) -> None:
        if self.hold_summary:
            self.held = s
            return
        d = asdict(s)
        d["failures"] = [{"name": n, "error": e} for n, e in s.failures]
        self._emit({"event": "summary", **d})

    def release(self) -> None:
        """Print a held summary (see ``hold_summary``)."""
        held, self.held, self.hold_summary = self.held, None, False
        if held is not None:
            self.summary(held)


class RecordingReporter:
    """For tests: keeps every call."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.results: list[JobResult] = []
        self.final: BuildSummary | None = None
        self.started = time.monotonic()

    def start(self, total: int, credits: float) -> None:
        self.events.append(("start", (total, credits)))

    def state(self, name: str, state: str) -> None:
        self.events.append(("state", (name, state)))

    def finished(self, r: JobResult) -> None:
        self.results.append(r)
        self.events.append(("finished", r))

    def warn(self, message: str) -> None:
        self.events.append(("warn", message))

    def rate_limited(self, note: str | None) -> None:
        self.events.append(("rate", note))

    def summary(self, s: BuildSummary) -> None:
        self.final = s
        self.events.append(("summary", s))
