"""The views room: pages and text for people reviewing an asset set.

``gallery`` (``assetgen gallery``), ``diff`` (``assetgen diff``, text and JSON),
``diffhtml`` (its before/after page), ``thumbs`` (WebP thumbnails), ``page`` (the
shared page shell and the ``web/`` assets), ``gitfiles`` (files at a git revision).

Thumbnails are made in a process pool (``thumbs``): decoding and encoding images is
CPU work that threads would serialise on the GIL; one at a time where processes
cannot start.
"""

__all__ = ["diff", "diffhtml", "gallery", "gitfiles", "page", "thumbs"]
