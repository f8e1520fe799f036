"""What the gateway sends is scrubbed of the API key before anything else reads it.

A gateway (or a proxy in front of it) may echo the ``Authorization`` header into an
error message, a task id or a result link. Whatever it echoes would otherwise reach
stderr, ``--json`` events, ``.assetgen/*.failures.json``, the journal, the lock and
the cache. So every string of every reply is redacted once, at the HTTP edge
(``evolink_http``), and the rest of assetgen only ever sees clean text: the key
whole, its body without the ``sk-evo-`` prefix (echoed on its own by some proxies),
and anything shaped like a bearer token.

Task ids are then checked here too: they name a journal row, a URL path and a lock
field, so a bounded length and a plain charset are required before they are used.
"""

from __future__ import annotations

import re
from typing import Any

from ...digests import MAX_TASK_ID_LENGTH, is_task_id
from ..redaction import Redactor

KEY_PREFIX = "sk-evo-"
_REDACTOR = Redactor(
    (KEY_PREFIX,),
    re.compile(r"(sk-evo-|Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE),
    ("sk-evo-", "bearer"),
)
secrets_of = _REDACTOR.secrets_of
redact = _REDACTOR.redact


def scrub(value: Any, key: str) -> Any:
    """``value`` (parsed JSON) with ``redact`` applied to every string in it, keys included."""
    if isinstance(value, str):
        return redact(value, key)
    if isinstance(value, dict):
        return {scrub(k, key): scrub(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, key) for v in value]
    return value


def task_id_problem(task_id: object) -> str | None:
    """Why ``task_id`` (from a reply or the journal) cannot be used, or None when it can."""
    if not isinstance(task_id, str) or not task_id:
        return "no task id"
    if len(task_id) > MAX_TASK_ID_LENGTH:
        return f"a task id of {len(task_id)} characters (the limit is {MAX_TASK_ID_LENGTH})"
    if not is_task_id(task_id):
        return "a task id with characters other than letters, digits and . _ : -"
    return None
