"""The provider contract as tests: what every provider must do, checked from outside.

A plugin author (or this repository, for ``draft``, ``evolink`` and ``openai``) describes a
provider with a ``ProviderCase`` and collects the checks with pytest::

    # tests/test_contract.py of assetgen-provider-foo
    from assetgen.testing.provider_kit import ProviderCase, contract_tests
    from assetgen_provider_foo import create

    test_contract = contract_tests(ProviderCase("foo", create, secrets=("my-test-key",)))

Each check is also a plain function (``CHECKS``), and ``check_provider(case)`` runs
them all without pytest. Only anyio is needed at run time (pytest for
``contract_tests``). The rules themselves are written down in assetgen.providers.base.

The checks: the factory gives a Provider of the declared name (whose repr shows no
secret); ``generate`` returns
bytes that decode to the pixel size of the spec (the catalog's for its model, size
and quality), with ``credits`` and ``collected`` floats >= 0; a provider with tasks
calls ``ctx.submitted`` before returning; the same seeded spec gives the same bytes
again (unless the case says the model is not deterministic); a journalled task is
resumed instead of paid for again; a refused request raises ProviderError, and no
secret appears in an error, a warning or a result; several assets generate at once;
``aclose`` may be called twice.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..errors import ProviderError
from ..imaging import verify
from ..providers.base import Generated, Provider, TaskRef
from ..providers.plugins import not_a_provider
from ..spec import AssetSpec

__all__ = [
    "CHECKS",
    "ProviderCase",
    "RecordingContext",
    "check_provider",
    "contract_tests",
    "spec_for",
]

PROMPT = "a small red kite over a green hill, flat colours"


@dataclass(frozen=True)
class ProviderCase:
    """How to make and exercise one provider for the contract checks.

    ``name``: the provider name, as in ``provider:`` (the specs carry it, and the
    provider's ``name`` must equal it). ``factory``: makes a fresh provider, as the
    registry would (called inside the event loop, once per check). ``requests``: the
    asset fields of the specs to generate (model, size, quality, seed...: whatever the
    manifest accepts); the catalog gives their pixel sizes. ``deterministic``: the
    same spec gives the same bytes. ``secrets``: strings that must never show (the
    test API key). ``failing_prompt``: a prompt the backend refuses, to see the
    refusal raise ProviderError (None: the provider cannot fail a valid spec).
    ``journal(spec)``: makes a task for ``spec`` paid on the backend, as a killed
    build would leave it, and returns its TaskRef; ``paid_submits()``: how many paid
    submits the backend has seen (both None for a provider without tasks).
    ``context()``: entered around each check (a server, environment variables).
    ``tasks``: the backend has paid tasks with ids to journal and resume (an
    asynchronous API); None means the same as the provider's ``remote``. A
    synchronous API (the image in the reply, no task id) sets False: then
    ``ctx.submitted`` is not required, and a journalled task is simply not used.
    """

    name: str
    factory: Callable[[], Provider]
    requests: tuple[Mapping[str, Any], ...] = ({"size": "1:1"}, {"size": "16:9"})
    deterministic: bool = True
    secrets: tuple[str, ...] = ()
    failing_prompt: str | None = None
    journal: Callable[[AssetSpec], TaskRef] | None = None
    paid_submits: Callable[[], int] | None = None
    context: Callable[[], AbstractContextManager[object]] | None = None
    tasks: bool | None = None
    id: str = ""  # the test id (default: name)

    def __str__(self) -> str:
        return self.id or self.name

    def has_tasks(self, provider: Provider) -> bool:
        return provider.remote if self.tasks is None else self.tasks


@dataclass
class RecordingContext:
    """A JobContext that records, in order, what a provider told it."""

    journalled: TaskRef | None = None
    events: list[tuple[str, Any]] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    double_charges: list[str] = field(default_factory=list)

    def state(self, state: str) -> None:
        self.events.append(("state", state))

    def submitted(self, task_id: str, credits: float | None = None) -> None:
        self.events.append(("submitted", task_id))
        self.task_ids.append(task_id)
        self.journalled = TaskRef(task_id, credits)

    def journalled_task(self) -> TaskRef | None:
        return self.journalled

    def warn(self, message: str) -> None:
        self.events.append(("warn", message))
        self.warnings.append(message)

    def possible_double_charge(self, why: str) -> None:
        self.events.append(("possible_double_charge", why))
        self.double_charges.append(why)

    def forced_nonce(self) -> str | None:
        return None

    def rate_limited(self, window: int | None, was: int) -> None:
        self.events.append(("rate_limited", window))


def spec_for(
    provider: str, fields: Mapping[str, Any], *, name: str = "contract", output: str = ""
) -> AssetSpec:
    """The AssetSpec a manifest with this one asset resolves to (pixels from the catalog)."""
    from ..manifest.resolve import parse_manifest

    body = {"prompt": PROMPT, **fields}
    if output:
        body["output"] = output
    doc = {"version": 1, "provider": provider, "assets": {name: body}}
    data = json.dumps(doc).encode()  # JSON is YAML
    manifest = parse_manifest(data, "contract.yaml", providers=(provider,))
    return manifest.specs[0]


def _specs(case: ProviderCase) -> list[AssetSpec]:
    return [spec_for(case.name, r, name=f"contract-{i}") for i, r in enumerate(case.requests)]


def _run(case: ProviderCase, body: Callable[[Provider], Awaitable[None]]) -> None:
    """``body(provider)`` in an event loop, inside the case's context; closes the provider."""

    async def main() -> None:
        provider = case.factory()
        try:
            await body(provider)
        finally:
            await provider.aclose()

    with case.context() if case.context is not None else _nothing():
        anyio.run(main)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _no_secret(case: ProviderCase, where: str, *texts: object) -> None:
    for text in texts:
        shown = str(text)
        for secret in case.secrets:
            assert secret not in shown, f"{case}: a secret appears in {where}: {shown[:200]!r}"


def _check_result(case: ProviderCase, spec: AssetSpec, g: object, ctx: RecordingContext) -> None:
    assert isinstance(g, Generated), f"{case}: generate returned {type(g).__name__}, not Generated"
    assert isinstance(g.data, bytes) and g.data, f"{case}: no image bytes"
    verify(g.data, spec.width, spec.height, f"{spec.size} at {spec.quality}")  # IntegrityError
    for what, value in (("credits", g.credits), ("collected", g.collected)):
        assert isinstance(value, float), f"{case}: {what} is {type(value).__name__}, not a float"
        assert math.isfinite(value) and value >= 0, f"{case}: {what} is {value}"
    assert g.task_id is None or isinstance(g.task_id, str), f"{case}: task_id {g.task_id!r}"
    _no_secret(case, "the result", g.task_id, g.results, ctx.events)


def check_shape(case: ProviderCase) -> str | None:
    """The factory gives a Provider: ``name`` (the case's), ``remote``, async methods."""

    async def body(provider: Provider) -> None:
        problem = not_a_provider(provider)
        assert problem is None, f"{case}: not a Provider: {problem}"
        assert provider.name == case.name, f"{case}: its name is {provider.name!r}"
        _no_secret(case, "the provider's repr", repr(provider))

    _run(case, body)
    return None


def check_generates_images(case: ProviderCase) -> str | None:
    """Each spec's image at its pixel size; credits truthful floats; tasks journalled."""

    async def body(provider: Provider) -> None:
        for spec in _specs(case):
            ctx = RecordingContext()
            g = await provider.generate(spec, ctx)
            _check_result(case, spec, g, ctx)
            if case.has_tasks(provider):
                assert ctx.task_ids, f"{case}: a provider with tasks never called ctx.submitted"
                if g.task_id is not None:
                    assert g.task_id == ctx.task_ids[-1], f"{case}: result of an unjournalled task"

    _run(case, body)
    return None


def check_deterministic(case: ProviderCase) -> str | None:
    """The same seeded spec twice: the same bytes (a cached result may come back free)."""
    if not case.deterministic:
        return "the case says this provider's images are not reproducible"

    async def body(provider: Provider) -> None:
        spec = _specs(case)[0]
        first = await provider.generate(spec, RecordingContext())
        again = await provider.generate(spec, RecordingContext())
        assert first.data == again.data, f"{case}: the same spec gave other bytes"

    _run(case, body)
    return None


def check_resumes_journalled_task(case: ProviderCase) -> str | None:
    """Given a journalled task, the provider collects it: no new submit, nothing charged."""
    journal = case.journal

    async def body(provider: Provider) -> None:
        spec = _specs(case)[0]
        if journal is None:
            if case.has_tasks(provider):
                raise _Skip("a provider with tasks: give ProviderCase.journal to check resuming")
            ref = TaskRef("contract-journalled-task", 1.0)  # no tasks here: not used
        else:
            ref = journal(spec)
        before = case.paid_submits() if case.paid_submits is not None else None
        ctx = RecordingContext(journalled=ref)
        g = await provider.generate(spec, ctx)
        _check_result(case, spec, g, ctx)
        if journal is not None:
            assert set(ctx.task_ids) <= {ref.task_id}, f"{case}: submitted {ctx.task_ids}"
            assert g.credits == 0.0, f"{case}: charged {g.credits} for a task paid earlier"
            if g.task_id is not None:
                assert g.task_id == ref.task_id, f"{case}: collected {g.task_id}, not {ref}"
        if before is not None and case.paid_submits is not None:
            assert case.paid_submits() == before, f"{case}: paid again for a journalled task"

    try:
        _run(case, body)
    except _Skip as skip:
        return str(skip)
    return None


def check_refusal_is_provider_error(case: ProviderCase) -> str | None:
    """A refused request raises ProviderError, and no secret shows in it or around it."""
    if case.failing_prompt is None:
        return "the case gives no failing_prompt (a provider that cannot fail a valid spec)"
    prompt = case.failing_prompt

    async def body(provider: Provider) -> None:
        spec = spec_for(case.name, {**case.requests[0], "prompt": prompt}, name="contract-refused")
        ctx = RecordingContext()
        try:
            await provider.generate(spec, ctx)
        except ProviderError as exc:
            text = str(exc)
            assert text.strip(), f"{case}: a ProviderError without a message"
            _no_secret(case, "the error", text, repr(exc.args), ctx.events)
            return
        raise AssertionError(f"{case}: the refused prompt generated an image")

    _run(case, body)
    return None


def check_many_at_once(case: ProviderCase) -> str | None:
    """Several assets in flight together (as ``--jobs`` runs them) all succeed."""

    async def body(provider: Provider) -> None:
        first = spec_for(case.name, case.requests[0])
        # Four different requests: by seed, or by prompt for a model that takes no seed.
        vary = (
            (lambda i: {"seed": 1000 + i})
            if first.reproducible
            else (lambda i: {"prompt": f"{first.prompt}, variant {i}"})
        )
        specs = [
            spec_for(case.name, {**case.requests[0], **vary(i)}, name=f"contract-{i}")
            for i in range(4)
        ]
        results: dict[str, tuple[Generated, RecordingContext]] = {}

        async def one(spec: AssetSpec) -> None:
            ctx = RecordingContext()
            results[spec.name] = (await provider.generate(spec, ctx), ctx)

        async with anyio.create_task_group() as tg:
            for spec in specs:
                tg.start_soon(one, spec)
        for spec in specs:
            g, ctx = results[spec.name]
            _check_result(case, spec, g, ctx)

    _run(case, body)
    return None


def check_aclose_twice(case: ProviderCase) -> str | None:
    """``aclose`` after use, then again; and on a provider never used."""

    async def main() -> None:
        unused = case.factory()
        await unused.aclose()
        await unused.aclose()
        used = case.factory()
        try:
            spec = _specs(case)[0]
            await used.generate(spec, RecordingContext())
        finally:
            await used.aclose()
        await used.aclose()

    with case.context() if case.context is not None else _nothing():
        anyio.run(main)
    return None


class _Skip(Exception):
    """A check that does not apply to this case (its message says why)."""


# Each returns None when it ran and passed, or why it does not apply; it raises on a failure.
CHECKS: tuple[Callable[[ProviderCase], str | None], ...] = (
    check_shape,
    check_generates_images,
    check_deterministic,
    check_resumes_journalled_task,
    check_refusal_is_provider_error,
    check_many_at_once,
    check_aclose_twice,
)


def check_provider(case: ProviderCase) -> dict[str, str | None]:
    """Run every check on ``case``; raises at the first failure, else returns each
    check's name with None (passed) or why it was skipped."""
    return {check.__name__: check(case) for check in CHECKS}


def contract_tests(*cases: ProviderCase) -> Callable[..., None]:
    """A pytest test function running every check on every case; assign it to a
    ``test_*`` name in a test module. Checks that do not apply are reported as skips."""
    import pytest

    @pytest.mark.parametrize(
        "check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS]
    )
    @pytest.mark.parametrize("case", cases, ids=[str(c) for c in cases])
    def test_provider_contract(
        case: ProviderCase, check: Callable[[ProviderCase], str | None]
    ) -> None:
        why = check(case)
        if why is not None:
            pytest.skip(why)

    return test_provider_contract
