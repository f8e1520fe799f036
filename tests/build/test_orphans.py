"""build.orphans: paid tasks the manifest no longer wants end in the cache, or are let go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from assetgen.build.journal import Journal, JournalTask
from assetgen.build.orphans import collect_unwanted, spec_of, unwanted_tasks
from assetgen.build.report import BuildSummary, JobResult
from assetgen.build.tasks import task_info
from assetgen.cache.store import LocalCache
from assetgen.errors import ProviderAuthError, ProviderError, TransientProviderError
from assetgen.project import find_project
from assetgen.providers import Generated
from assetgen.providers.draft import render_draft
from assetgen.spec import AssetSpec, Manifest
from tests.conftest import copy_example


class Said:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def start(self, total: int, credits: float) -> None: ...
    def state(self, name: str, state: str) -> None: ...
    def finished(self, result: JobResult) -> None: ...
    def summary(self, summary: BuildSummary) -> None: ...

    def warn(self, message: str) -> None:
        self.warnings.append(message)


class Collector:
    """Answers each task id as told: bytes, still running (None), or an exception."""

    def __init__(self, answers: dict[str, bytes | Exception | None]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def collect(self, spec: AssetSpec, ctx: Any) -> Generated | None:
        ref = ctx.journalled_task()
        self.asked.append(ref.task_id)
        answer = self.answers[ref.task_id]
        if isinstance(answer, Exception):
            raise answer
        return None if answer is None else Generated(answer, ref.task_id, credits=0.0)


@pytest.fixture
def manifest(tmp_path: Path) -> Manifest:
    return find_project(copy_example("design-system", tmp_path / "p")).load_manifest("draft")


def row(spec: AssetSpec, task_id: str, info: dict[str, Any] | None = None) -> JournalTask:
    return JournalTask(spec.spec_hash, spec.name, spec.provider, task_id, 0.0,
                       task_info(spec, 2.0) if info is None else info)  # fmt: skip


def test_unwanted_means_this_providers_tasks_for_specs_no_longer_wanted(
    tmp_path: Path, manifest: Manifest
) -> None:
    journal = Journal(tmp_path / "j.db")
    spec = manifest.specs[0]
    journal.record_task(spec.spec_hash, spec.name, "draft", "wanted", {})
    journal.record_task("sha256:" + "11" * 32, "edited", "draft", "unwanted", {})
    journal.record_task("sha256:" + "22" * 32, "other", "evolink", "not-ours", {})
    assert [t.task_id for t in unwanted_tasks(journal, manifest)] == ["unwanted"]


def test_spec_of_rebuilds_the_spec_and_refuses_damaged_rows(manifest: Manifest) -> None:
    spec = manifest.specs[0]
    back = spec_of(row(spec, "t"))
    assert back is not None
    assert (back.spec_hash, back.width, back.height, back.prompt) == (
        spec.spec_hash, spec.width, spec.height, spec.prompt,
    )  # fmt: skip
    good = task_info(spec, 2.0)
    damaged: list[dict[str, Any]] = [
        {},  # written before the request was recorded
        {**good, "request": "not a mapping"},
        {**good, "request": {k: v for k, v in good["request"].items() if k != "prompt"}},
        {**good, "width": -1},
        {**good, "height": True},
        {**good, "width": 10**9},
    ]
    assert [spec_of(row(spec, "t", info)) for info in damaged] == [None] * len(damaged)
    path_like = row(spec, "t")._replace(spec_hash="sha256:../../../etc/passwd")
    assert spec_of(path_like) is None  # a spec hash that would name a cache path


def test_collecting_caches_the_finished_and_keeps_the_running(
    tmp_path: Path, manifest: Manifest
) -> None:
    a, b, c, d, e = manifest.specs[:5]
    journal = Journal(tmp_path / "j.db")
    tasks = [row(a, "done"), row(b, "running"), row(c, "blip"), row(d, "failed"), row(e, "auth")]
    for t in tasks:
        journal.record_task(t.spec_hash, t.name, t.provider, t.task_id, t.info)
    collector = Collector({
        "done": render_draft(a), "running": None, "blip": TransientProviderError("timed out"),
        "failed": ProviderError("task failed"), "auth": ProviderAuthError("key refused"),
    })  # fmt: skip
    cache, said = LocalCache(tmp_path / "cache"), Said()
    counts = anyio.run(collect_unwanted, collector, tasks, journal, cache, said)
    assert counts == (1, 2)
    assert cache.has(a.spec_hash) and not cache.has(b.spec_hash)
    assert sorted(t.task_id for t in journal.tasks()) == ["auth", "blip", "running"]
    assert any("task done" in w and "in the cache" in w for w in said.warnings)
    assert any("task failed" in w and "forgotten" in w for w in said.warnings)


def test_an_image_of_the_wrong_size_is_forgotten_not_cached(
    tmp_path: Path, manifest: Manifest
) -> None:
    spec = manifest.specs[0]
    other = next(s for s in manifest.specs if (s.width, s.height) != (spec.width, spec.height))
    journal = Journal(tmp_path / "j.db")
    task = row(spec, "t")
    journal.record_task(task.spec_hash, task.name, task.provider, task.task_id, task.info)
    cache, said = LocalCache(tmp_path / "cache"), Said()
    collector = Collector({"t": render_draft(other)})
    assert anyio.run(collect_unwanted, collector, [task], journal, cache, said) == (0, 0)
    assert not cache.has(spec.spec_hash) and journal.tasks() == []
    assert "unusable" in said.warnings[0]


def test_a_row_that_cannot_be_checked_is_never_polled(tmp_path: Path, manifest: Manifest) -> None:
    journal = Journal(tmp_path / "j.db")
    task = row(manifest.specs[0], "old", info={})
    journal.record_task(task.spec_hash, task.name, task.provider, task.task_id, {})
    collector, said = Collector({}), Said()
    anyio.run(collect_unwanted, collector, [task], journal, LocalCache(tmp_path / "c"), said)
    assert collector.asked == [] and journal.tasks() == []
    assert "cannot be checked; forgotten" in said.warnings[0]
