"""The emulator's value types: one task on the fake gateway, one download link."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .contract import MODEL

_ID_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True, slots=True)
class Task:
    """One accepted submit. Immutable: its status is a function of the clock."""

    id: str
    created: int  # Unix seconds, as the gateway reports it
    started: float  # clock() at submit
    duration: float
    request: Mapping[str, Any]  # the spec fields, defaults filled in
    spec_key: str
    credits: float
    fail_code: str | None

    @property
    def done_at(self) -> float:
        return self.started + self.duration


@dataclass(frozen=True, slots=True)
class Download:
    """A result file to send: which task's image, and how many bytes to cut it to (or None)."""

    task: Task
    truncate_at: float | None  # fraction of the body to send, for the truncation fault


def _task_body(task: Task, status: str, progress: int) -> dict[str, Any]:
    return {
        "created": task.created,
        "id": task.id,
        "model": MODEL.name,
        "object": "image.generation.task",
        "progress": progress,
        "status": status,
        "task_info": {"can_cancel": False},
        "type": "image",
    }


def _money(x: float) -> float:
    return round(x, 6)  # keep 0.45 * 3 from printing as 1.3500000000000003
