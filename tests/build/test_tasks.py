"""build.tasks: the journal of paid tasks, settled only by bytes in hand; one asset's JobContext."""

from __future__ import annotations

from pathlib import Path

import pytest

from assetgen.build.journal import Journal
from assetgen.build.report import BuildSummary, JobResult
from assetgen.build.tasks import TaskContext, checked_record, settle_tasks, task_info
from assetgen.cache.records import CacheRecord, spec_hex
from assetgen.cache.remote.connect import open_remote
from assetgen.cache.store import LocalCache
from assetgen.cache.tiered import TieredCache
from assetgen.errors import IntegrityError
from assetgen.project import find_project
from assetgen.providers import Generated
from assetgen.providers.draft import render_draft
from assetgen.spec import AssetSpec, Manifest
from tests.conftest import copy_example


class Said:
    """A Reporter that keeps what it was told."""

    def __init__(self) -> None:
        self.states: list[tuple[str, str]] = []
        self.warnings: list[str] = []

    def start(self, total: int, credits: float) -> None: ...
    def finished(self, result: JobResult) -> None: ...
    def summary(self, summary: BuildSummary) -> None: ...

    def state(self, name: str, state: str) -> None:
        self.states.append((name, state))

    def warn(self, message: str) -> None:
        self.warnings.append(message)


@pytest.fixture
def manifest(tmp_path: Path) -> Manifest:
    return find_project(copy_example("quickstart", tmp_path / "p")).load_manifest("draft")


def cached(cache: LocalCache, spec: AssetSpec) -> None:
    cache.put(CacheRecord(spec.spec_hash, spec.width, spec.height, {}), {"png": b"img"})


def test_a_task_whose_image_is_cached_locally_is_settled(
    tmp_path: Path, manifest: Manifest
) -> None:
    spec, other = manifest.specs[0], manifest.specs[1]
    journal = Journal(tmp_path / "journal.db")
    for s in (spec, other):
        journal.record_task(s.spec_hash, s.name, "draft", f"task-{s.name}", {})
    journal.record_task("sha256:" + "cd" * 32, "gone", "evolink", "task-x", {})  # another provider
    cache = LocalCache(tmp_path / "cache")
    cached(cache, spec)
    settle_tasks(journal, manifest, cache)
    assert sorted(t.name for t in journal.tasks()) == sorted([other.name, "gone"])


def test_a_remote_yes_is_only_a_promise_the_task_stays(tmp_path: Path, manifest: Manifest) -> None:
    """The remote has the spec, the local cache does not: a failed fetch must never mean
    paying again, so the task stays journalled, and the remote is not even asked."""
    spec = manifest.specs[0]
    (tmp_path / "shared").mkdir()
    remote = open_remote((tmp_path / "shared").as_uri())
    remote.put("ac", spec_hex(spec.spec_hash), b"{}")
    journal = Journal(tmp_path / "journal.db")
    journal.record_task(spec.spec_hash, spec.name, "draft", "task-1", {})
    cache = TieredCache(LocalCache(tmp_path / "cache"), remote, on_warning=lambda m: None)
    assert cache.has(spec.spec_hash)  # what a plan would be told
    settle_tasks(journal, manifest, cache)
    assert [t.task_id for t in journal.tasks()] == ["task-1"]
    cache.close()


def test_checked_record_refuses_bytes_of_another_size_or_none_at_all(manifest: Manifest) -> None:
    spec = manifest.specs[0]
    smaller = next(s for s in manifest.specs if (s.width, s.height) != (spec.width, spec.height))
    link = "https://files.example/1.png?token=secret"
    generated = Generated(render_draft(spec), "t-1", (link,), credits=1.5, collected=0.25)
    info, record = checked_record(spec, generated)
    assert (info.width, info.height) == (spec.width, spec.height)
    assert record.blobs == {} and record.task_id == "t-1"
    assert record.results == ()  # result links expire and may carry a token: never cached
    assert record.credits == 1.75 and record.spec_hash == spec.spec_hash
    with pytest.raises(IntegrityError):
        checked_record(spec, Generated(render_draft(smaller), "t-2"))
    with pytest.raises(IntegrityError):
        checked_record(spec, Generated(b"<html>rate limited</html>", "t-3"))


def test_the_context_reports_each_state_once_per_change(tmp_path: Path, manifest: Manifest) -> None:
    said = Said()
    spec = manifest.specs[0]
    ctx = TaskContext(Journal(tmp_path / "j.db"), said, BuildSummary(), spec)
    for state in ("running", "running", "downloading", "running"):
        ctx.state(state)
    assert said.states == [(spec.name, s) for s in ("running", "downloading", "running")]


def test_a_submitted_task_is_journalled_and_found_again_for_its_provider_only(
    tmp_path: Path, manifest: Manifest
) -> None:
    journal = Journal(tmp_path / "j.db")
    spec = manifest.specs[0]
    ctx = TaskContext(journal, Said(), BuildSummary(), spec)
    ctx.submitted("task-9", credits=3.0)
    task = journal.task_for(spec.spec_hash)
    assert task is not None and task.info == task_info(spec, 3.0) and task.info["credits"] == 3.0
    ref = ctx.journalled_task()
    assert ref is not None and (ref.task_id, ref.credits) == ("task-9", 3.0)
    journal.record_task(spec.spec_hash, spec.name, "evolink", "task-10", {})
    assert ctx.journalled_task() is None  # another provider's task is not this one's


def test_a_forced_nonce_survives_a_retry_and_a_double_charge_is_counted(
    tmp_path: Path, manifest: Manifest
) -> None:
    journal = Journal(tmp_path / "j.db")
    spec = manifest.specs[0]
    summary, said = BuildSummary(), Said()
    assert TaskContext(journal, said, summary, spec).forced_nonce() is None
    first = TaskContext(journal, said, summary, spec, forced=True).forced_nonce()
    again = TaskContext(journal, said, summary, spec, forced=True).forced_nonce()
    assert first is not None and first == again and len(first) == 32
    TaskContext(journal, said, summary, spec).possible_double_charge("retry after a timeout")
    assert summary.possible_double_charges == 1
    assert said.warnings == [f"{spec.name}: possible double charge: retry after a timeout"]
