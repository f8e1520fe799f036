"""What both emulator modes (EvoLink's, state.py; OpenAI's, openai.py) share.

The bearer check, the 429 with its ``Retry-After``, the seeded random streams, the
cache of rendered images and the draft that stands for a generated image: one copy,
so the two modes cannot drift apart in how they authenticate, limit or render.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from typing import Any

from ..providers.draft import render_draft
from ..spec import AssetSpec, spec_hash
from .contract import Reply


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def retry_later(reply: Reply, seconds: float | int) -> Reply:
    """``reply`` (a 429) telling the client when to come back."""
    reply.headers["retry-after"] = str(seconds)
    return reply


def rng_stream(seed: int | None, name: str) -> random.Random:
    """An independent random stream per fault kind: seeded runs repeat exactly."""
    return random.Random(f"{seed}:{name}") if seed is not None else random.Random()


def draft_image(
    name: str, request: dict[str, Any], prompt: str, width: int, height: int, credits: float
) -> bytes:
    """The draft PNG standing for a generated image of ``request`` (the spec hash's fields),
    at exactly ``width`` x ``height``: the same request gives the same bytes in every run."""
    spec = AssetSpec(
        name=name,
        provider=request["provider"],
        model=request["model"],
        prompt=prompt,
        size=request["size"],
        quality=request["quality"],
        seed=request["seed"],
        nsfw_check=request["nsfw_check"],
        output="result.png",
        width=width,
        height=height,
        credits=credits,
        spec_hash=spec_hash(request),
    )
    return render_draft(spec)


class ImageCache:
    """The last rendered images by request key (a 2K render takes a while, bytes are cheap);
    a benchmark pre-fills it. Thread-safe: the renders run in worker threads."""

    _lock: threading.Lock
    _images: OrderedDict[str, bytes]

    def cached_image(self, key: str) -> bytes | None:
        with self._lock:
            data = self._images.get(key)
            if data is not None:
                self._images.move_to_end(key)
            return data

    def cache_image(self, key: str, data: bytes, limit: int = 16) -> None:
        """Keep the last ``limit`` images."""
        with self._lock:
            self._images[key] = data
            self._images.move_to_end(key)
            while len(self._images) > limit:
                self._images.popitem(last=False)
