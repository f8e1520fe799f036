"""The OpenAI key never leaves this process: every text a server sends is scrubbed of it.

A server (or a proxy in front of it) may echo the ``Authorization`` header into an
error message; that text reaches stderr, ``--json`` events and the failures file.
So every message built from a reply goes through ``redact`` first: the key whole,
its body without the ``sk-``/``sk-proj-`` prefix, and anything shaped like a key or
a bearer token.
"""

from __future__ import annotations

import re

from ..redaction import Redactor

_REDACTOR = Redactor(
    ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"),
    re.compile(r"(sk-|Bearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE),
    ("sk-", "bearer"),
)
secrets_of = _REDACTOR.secrets_of
redact = _REDACTOR.redact
