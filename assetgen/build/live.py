"""The live display of a build on a terminal: a bar with counts per state, the few assets
in flight (most recent first), and why the build is slow when 429s hold it back.

Apart from report.py because rich is imported only here, only on a terminal.
"""

from __future__ import annotations

from collections import Counter
from typing import IO, Any

from ..plan.render import credits_text
from .report import STATES, BuildSummary, JobResult, LineReporter, outcome


class LiveReporter(LineReporter):
    """A terminal: a live bar with counts per state, ETA and credits so far (rich)."""

    def __init__(self, out: IO[str] | None = None) -> None:
        super().__init__(out)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.console = Console(file=self.out, highlight=False)
        self.task: Any = None
        self.states: dict[str, str] = {}
        self.active: dict[str, str] = {}  # running or downloading, in the order they started
        self.spent = 0.0
        self.rate_note = ""
        reporter = self

        class _Progress(Progress):
            # rich's documented hook: the bar, then the few assets most recently started.
            def get_renderables(self) -> Any:
                yield self.make_tasks_table(self.tasks)
                lines = reporter.running_lines()
                if lines:
                    from rich.text import Text

                    yield Text("\n".join(lines), style="dim")

        self.progress = _Progress(
            TextColumn("[bold]building"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[states]}"),
            TextColumn("{task.fields[credits]} cr"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )

    def running_lines(self, most: int = 5) -> list[str]:
        """The assets in flight, most recent first (a few), and why the build is slow."""
        names = list(self.active)[::-1]
        lines = [f"  {self.active[n]:<11} {n}" for n in names[:most]]
        if len(names) > most:
            lines.append(f"  ... and {len(names) - most} more")
        if self.rate_note:
            lines.append(f"  {self.rate_note}")
        return lines

    def rate_limited(self, note: str | None) -> None:
        self.rate_note = note or ""
        self._refresh()

    def _counts(self) -> str:
        c = Counter(self.states.values())
        return " ".join(f"{s} {c[s]}" for s in STATES if c[s])

    def _refresh(self) -> None:
        if self.task is not None:
            done = sum(1 for s in self.states.values() if s in ("done", "failed"))
            self.progress.update(
                self.task,
                completed=done,
                states=self._counts(),
                credits=credits_text(self.spent),
            )

    def start(self, total: int, credits: float) -> None:
        self.progress.start()
        self.task = self.progress.add_task("build", total=total, states="", credits="0.00")

    def state(self, name: str, state: str) -> None:
        self.states[name] = state
        if state in ("running", "downloading"):
            self.active.pop(name, None)
            self.active[name] = state
        self._refresh()

    def finished(self, r: JobResult) -> None:
        self.states[r.name] = outcome(r)
        self.active.pop(r.name, None)
        self.spent += r.credits
        state = outcome(r)
        if state == "failed":
            self.progress.console.print(f"[red]failed[/red] {r.name}: {r.error}", markup=True)
        elif state == "still running":
            self.progress.console.print(f"[dim]still running[/dim] {r.name} ({r.error})")
        self._refresh()

    def warn(self, message: str) -> None:
        self.progress.console.print(f"[yellow]warning:[/yellow] {message}")

    def summary(self, s: BuildSummary) -> None:
        self.progress.stop()
        super().summary(s)
