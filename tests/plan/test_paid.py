"""plan/paid.py: tasks a stopped build paid for are free in the plan, whichever
provider of a mixed manifest holds them."""

from __future__ import annotations

from pathlib import Path

from assetgen.build.journal import Journal
from assetgen.plan.paid import journalled_tasks
from assetgen.project import Project


def test_tasks_of_every_provider_the_manifest_uses_are_read(tmp_path: Path) -> None:
    project = Project(tmp_path, tmp_path / "assetgen.yaml")
    project.ensure_state_dir()
    journal = Journal(project.state_file("journal.db"))
    journal.record_task("sha256:" + "a" * 64, "fox", "evolink", "t-1", {})
    journal.record_task("sha256:" + "b" * 64, "owl", "myplugin", "t-2", {})
    journal.close()
    assert journalled_tasks(project, ["evolink"]) == frozenset()  # no build left anything
    project.state_file("pending").write_text("")
    assert journalled_tasks(project, ["evolink"]) == {"sha256:" + "a" * 64}
    both = journalled_tasks(project, ["evolink", "myplugin", "evolink"])
    assert both == {"sha256:" + "a" * 64, "sha256:" + "b" * 64}
