"""How a build reports: one vocabulary (done, failed, not started, paid and still running)
in the live bar and in the summary, and the assets in flight on the live display."""

from __future__ import annotations

import io

from assetgen.build.live import LiveReporter
from assetgen.build.report import BuildSummary, JobResult, outcome


def result(name: str, ok: bool, source: str, error: str | None = None) -> JobResult:
    return JobResult(name, "create", ok, source, f"assets/{name}.png", error=error)


def test_outcomes_use_one_vocabulary() -> None:
    """A result's finished state is done, failed, not started or still running."""
    assert outcome(result("a", True, "generated")) == "done"
    assert outcome(result("b", False, "failed", "boom")) == "failed"
    assert outcome(result("c", False, "skipped", "not started")) == "not started"
    assert outcome(result("d", False, "running", "paid, still running")) == "still running"


def test_the_summary_counts_a_paid_interrupted_asset_once() -> None:
    """An asset interrupted while its paid task ran is "still running" once, never also
    "not started"; assets that never began are "not started"."""
    s = BuildSummary(interrupted=True)
    s.add(result("a", True, "generated"))
    s.add(result("b", False, "running", "paid, still running"))
    s.add(result("c", False, "skipped", "not started"))
    s.still_running = 1  # what the journal holds at the end: b's task
    text = s.text()
    assert "1 not started" in text and "1 paid and still running" in text
    assert text.count("still running") == 1 and "2 not started" not in text
    assert s.failed == 0 and s.skipped == 1


def test_a_build_where_only_failures_finished_does_not_say_nothing_to_do() -> None:
    """'Build failed: nothing to do; ... 2 failed' contradicted itself."""
    s = BuildSummary()
    s.add(result("a", False, "failed", "boom"))
    s.add(result("b", False, "failed", "boom"))
    assert "nothing to do" not in s.text() and s.text().startswith("Build failed: ")
    assert "2 failed" in s.text()


def test_the_live_display_lists_assets_in_flight_most_recent_first() -> None:
    """The live display shows which assets are running (a few), and the bar agrees with the
    summary: interrupted assets are not counted as failed."""
    out = io.StringIO()
    live = LiveReporter(out)
    live.start(8, 0.0)
    for i in range(7):
        live.state(f"asset-{i}", "running")
    live.state("asset-2", "downloading")
    lines = live.running_lines(most=3)
    assert lines[0].split() == ["downloading", "asset-2"]
    assert lines[1].split() == ["running", "asset-6"]
    assert lines[-1] == "  ... and 4 more"
    live.finished(result("asset-6", True, "generated"))
    live.finished(result("asset-5", False, "skipped", "not started"))
    live.finished(result("asset-4", False, "running", "paid, still running"))
    assert "asset-6" not in "".join(live.running_lines())
    counts = live._counts()
    assert "done 1" in counts and "not started 1" in counts and "still running 1" in counts
    assert "failed" not in counts
    live.summary(BuildSummary())
    shown = out.getvalue()
    assert "still running asset-4" in shown and "failed asset-4" not in shown
