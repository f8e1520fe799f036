"""explore's provider seam: candidates routed to their model's provider as a build's are,
and a paid task left running reported as such, with explore's own next step."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

from assetgen.build.selection import BuildOptions
from assetgen.commands.explore import explore
from assetgen.errors import TransientProviderError
from assetgen.project import find_project
from assetgen.providers.base import Generated, JobContext
from assetgen.spec import AssetSpec


class Fake:
    """A provider named ``name`` drawing drafts, counting the specs it is handed; with
    ``stall`` it submits a task, then answers with a transient error."""

    remote = False

    def __init__(self, name: str, seen: Counter[tuple[str, str]], stall: bool = False) -> None:
        from assetgen.providers.draft import DraftProvider

        self.name = name
        self.seen = seen
        self.stall = stall
        self.inner = DraftProvider()

    async def generate(self, spec: AssetSpec, ctx: JobContext) -> Generated:
        self.seen[(self.name, spec.provider)] += 1
        if self.stall:
            ctx.submitted(f"task-{spec.spec_hash[7:15]}")
            raise TransientProviderError("the gateway timed out", asset=spec.name)
        return await self.inner.generate(spec, ctx)

    async def aclose(self) -> None:
        await self.inner.aclose()


MIXED = (
    "version: 1\nprovider: evolink\n"
    "models:\n  seeded-oai: {provider: openai, like: gpt-image-1-mini, seed: {min: 1, max: 99}}\n"
    "assets:\n  a: {prompt: a fox}\n  b: {model: seeded-oai, prompt: an owl}\n"
)


def test_candidates_go_to_their_models_provider(tmp_path: Path) -> None:
    """A krea asset and an OpenAI-served one: each candidate reaches its own provider."""
    (tmp_path / "assetgen.yaml").write_text(MIXED)
    seen: Counter[tuple[str, str]] = Counter()
    out = io.StringIO()
    code = explore(
        find_project(tmp_path),
        selection=("a", "b"),
        n=2,
        options=BuildOptions(balance_check=False),
        as_json=True,
        out=out,
        provider_factory=lambda name: Fake(name, seen),
    )
    assert code == 0, out.getvalue()
    assert seen == Counter({("evolink", "evolink"): 2, ("openai", "openai"): 2})


def test_a_paid_task_still_running_is_reported_as_running(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """A transient error after the submit: the candidate is paid and running, not failed,
    and the warning names `assetgen explore` as what collects it."""
    (tmp_path / "assetgen.yaml").write_text(MIXED)
    seen: Counter[tuple[str, str]] = Counter()
    out = io.StringIO()
    code = explore(
        find_project(tmp_path),
        selection=("a",),
        n=1,
        options=BuildOptions(balance_check=False),
        as_json=True,
        out=out,
        provider_factory=lambda name: Fake(name, seen, stall=True),
    )
    assert code == 1
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    (cand,) = [e for e in events if e["event"] == "candidate"]
    assert cand["source"] == "running"
    assert "next `assetgen explore`" in cand["error"]
    err = capsys.readouterr().err
    assert "the next `assetgen explore` of those assets collects them" in err
    assert "assetgen build" not in err


def test_clear_of_an_unexplored_name_lists_the_explored_ones(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`explore --clear NAME` for a name with no candidates says which names have them."""
    from tests.explore.test_explore import explore as draft_explore
    from tests.explore.test_explore import run

    (tmp_path / "assetgen.yaml").write_text(MIXED)
    draft_explore(tmp_path, "a", "-n", "1")
    code, _, _ = run(tmp_path, "explore", "--clear", "zzz")
    err = capsys.readouterr().err
    assert code == 2
    assert "no explored asset matches `zzz`" in err and "with candidates here: a " in err
    assert "plan --json" not in err
