"""Scrubbing an API key out of text a server sent: one Redactor per provider's key shape.

A server (or a proxy in front of it) may echo the ``Authorization`` header, or the
key without its prefix, into an error message, a task id or a link. A provider's
secrets.py names its prefixes and the pattern of "anything shaped like a key";
every text built from a reply goes through ``Redactor.redact`` before anyone sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_SECRET_LENGTH = 8  # a shorter key body would also redact ordinary words


@dataclass(frozen=True)
class Redactor:
    """``prefixes``: the key's known prefixes, longest first (the body after one is a secret
    too); ``pattern``: group 1 is kept, the rest replaced (key-shaped text, bearer tokens);
    ``markers``: lower-case strings without which the pattern cannot match (a fast path)."""

    prefixes: tuple[str, ...]
    pattern: re.Pattern[str]
    markers: tuple[str, ...]

    def secrets_of(self, key: str) -> tuple[str, ...]:
        """The strings that must never be shown: the key, then its body without its prefix."""
        out = [key] if key else []
        for prefix in self.prefixes:
            if key.startswith(prefix):
                body = key[len(prefix) :]
                if len(body) >= MIN_SECRET_LENGTH:
                    out.append(body)
                break
        return tuple(out)

    def redact(self, text: str, key: str) -> str:
        """``text`` with the key, its body, and anything that looks like a key replaced by ``***``."""
        for secret in self.secrets_of(key):
            if secret in text:
                text = text.replace(secret, "***")
        low = text.lower()
        if not any(m in low for m in self.markers):
            return text  # the common case: nothing for the pattern to find
        return self.pattern.sub(lambda m: m.group(1) + "***", text)
