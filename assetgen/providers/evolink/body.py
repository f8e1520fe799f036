"""What goes to and comes back from the gateway for one task: request bodies, result checks, error codes."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import ProviderAuthError
from ...lock.check import credits_problem
from ...spec import AssetSpec
from .config import KEY_ENV
from .http import ApiError

if TYPE_CHECKING:
    pass


# The gateway's task-level error codes: terminal ones fail the asset, retryable ones
# submit a new task (failed tasks are refunded).
TERMINAL_CODES = frozenset(
    {
        "content_policy_violation",
        "invalid_parameters",
        "image_processing_error",
        "image_dimension_mismatch",
        "resource_not_found",
        "request_cancelled",
    }
)


RETRYABLE_CODES = frozenset(
    {
        "service_error",
        "generation_timeout",
        "resource_exhausted",
        "quota_exceeded",
        "service_unavailable",
        "generation_failed_no_content",
    }
)


def idempotency_key(spec_hash: str, replaces: str | None = None, nonce: str | None = None) -> str:
    """A stable key per (spec, task replaced): a retried or re-run submit of the same request
    reuses it, while a deliberate resubmission after a failed task gets a new one.

    ``nonce``: a ``build --force`` of the spec, which wants a new task, not the gateway's
    replay of the last one; the nonce is journalled before the submit (tasks.py), so a
    retry of that same forced submit, even after a kill -9, still reuses its key."""
    seed = spec_hash if replaces is None else f"{spec_hash}\0{replaces}"
    if nonce is not None:
        seed = f"{seed}\0force:{nonce}"
    return "assetgen-" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:48]


def request_body(spec: AssetSpec) -> dict[str, Any]:
    """The JSON of ``POST /v1/images/generations`` for ``spec``: only the fields its model
    takes (the catalog's ``fields``), so a seedless model is sent no seed and a model
    without tiers no quality. krea-2-turbo's body is as it always was."""
    from ...catalog import KREA_FIELDS, MODELS

    info = MODELS.get(spec.model)
    takes = spec.fields or (info.fields if info is not None else KREA_FIELDS)
    body: dict[str, Any] = {"model": spec.model, "prompt": spec.prompt}
    for name in ("size", "quality", "seed", "nsfw_check"):
        if name == "seed" and not spec.reproducible:
            continue  # a seedless model's spec has seed 0, which means nothing to send
        if name in takes:
            body[name] = getattr(spec, name)
    if spec.callback_url and "callback_url" in takes:
        body["callback_url"] = spec.callback_url
    return body


def auth_error(err: ApiError) -> ProviderAuthError:
    """401: the key is refused; 403: it may not use the model (or that route). Worded for
    every caller (a build, which says itself that it stops, and ``assetgen credits``)."""
    what = (
        f"{KEY_ENV} was refused by the gateway"
        if err.status == 401
        else f"{KEY_ENV} is not allowed to use this model (or this task)"
    )
    return ProviderAuthError(
        f"{what} (HTTP {err.status}: {err.describe()})\n"
        f"  hint: check the key and its model access; `--provider draft` builds offline without one"
    )


@dataclass
class _Task:
    id: str
    credits: float | None
    resumed: bool
    estimated: float | None = None
    # Whether this build paid for it: not a journalled task of an earlier build, nor the
    # gateway's replay of a task an earlier build submitted with the same key.
    paid_here: bool = True


class _TaskGone(Exception):
    """The gateway no longer knows the task (404, an invalid id, another account's task)."""


class _TaskFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class _LinkDead(Exception):
    """The result link cannot be fetched any more and the task gives no fresh one."""


class StillRunning(Exception):
    """Collecting: the task is not finished yet; it stays journalled for a later build."""


_PNG = b"\x89PNG\r\n\x1a\n"


def check_complete(data: bytes, width: int | None = None, height: int | None = None) -> None:
    """Raise ``IntegrityError`` unless ``data`` is a whole image file (of ``width`` x ``height``).

    The builder decodes every image completely before it stores anything
    (``imaging.verify``), so this check only has to catch what a transfer does to a
    file, a cut or damaged body, and it does so without decompressing pixels: a PNG
    must have every chunk's CRC right up to IEND, a JPEG its start and end markers,
    a WebP the length its RIFF header announces. Anything else, or anything that
    fails those, gets the full decode (``imaging.probe``), which says what is wrong.
    A second full decode here cost about 6 ms of CPU per 1K image. With a size given,
    that decode happens only once the header says the size is right.
    """
    if not _whole(data):
        from ...imaging import probe, verify

        if width is not None and height is not None:
            verify(data, width, height)
        else:
            probe(data)


def _whole(data: bytes) -> bool:
    n = len(data)
    if data.startswith(_PNG):
        view, pos = memoryview(data), len(_PNG)
        while pos + 12 <= n:
            end = pos + 12 + int.from_bytes(view[pos : pos + 4], "big")
            if end > n or zlib.crc32(view[pos + 4 : end - 4]) != int.from_bytes(
                view[end - 4 : end], "big"
            ):
                return False
            if data[pos + 4 : pos + 8] == b"IEND":
                return True
            pos = end
        return False
    if data.startswith(b"\xff\xd8\xff"):
        return data.endswith(b"\xff\xd9")
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return int.from_bytes(data[4:8], "little") + 8 in (n, n - 1)
    return False


def usage_credits(body: dict[str, Any]) -> float | None:
    """The credits a finished task's ``usage`` says were charged (``credits_used``, or
    ``cost.credits``, as EvoLink's own client reads them); None when it says nothing
    usable (absent, NaN, negative): the caller falls back to the reservation."""
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None
    used = usage.get("credits_used")
    if used is None:
        cost = usage.get("cost")
        used = cost.get("credits") if isinstance(cost, dict) else None
    if used is None or credits_problem(used) is not None:
        return None
    return float(used)


def _results(body: dict[str, Any]) -> tuple[str, ...]:
    results = body.get("results")
    if not isinstance(results, list):
        return ()
    return tuple(r for r in results if isinstance(r, str) and r)


def _task_error(body: dict[str, Any], status: str) -> tuple[str, str]:
    """``(code, message)`` of a failed task; ``code`` may arrive as an integer."""
    err = body.get("error")
    default = "request_cancelled" if status == "cancelled" else "unknown_error"
    if not isinstance(err, dict):
        return default, ""
    code = err.get("code")
    code_text = str(code) if isinstance(code, (str, int)) and str(code) else default
    message = err.get("message")
    return code_text, message[:500] if isinstance(message, str) else ""
