"""The OpenAI key never leaves this process: every text a server sends is scrubbed of it.

A server (or a proxy in front of it) may echo the ``Authorization`` header into an
error message; that text reaches stderr, ``--json`` events and the failures file.
So every message built from a reply goes through ``redact`` first: the key whole,
its body without the ``sk-``/``sk-proj-`` prefix, and anything shaped like a key or
a bearer token.
"""

from __future__ import annotations

import re

MIN_SECRET_LENGTH = 8  # a shorter key body would also redact ordinary words
_PREFIXES = ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-")
_SECRETISH = re.compile(r"(sk-|Bearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)


def secrets_of(key: str) -> tuple[str, ...]:
    """The strings that must never be shown: the key, then its body without its prefix."""
    out = [key] if key else []
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            body = key[len(prefix) :]
            if len(body) >= MIN_SECRET_LENGTH:
                out.append(body)
            break
    return tuple(out)


def redact(text: str, key: str) -> str:
    """``text`` with the key, its body, and anything that looks like a key replaced by ``***``."""
    for secret in secrets_of(key):
        if secret in text:
            text = text.replace(secret, "***")
    low = text.lower()
    if "sk-" not in low and "bearer" not in low:
        return text
    return _SECRETISH.sub(lambda m: m.group(1) + "***", text)
