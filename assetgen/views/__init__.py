"""The views room: pages and text for people reviewing an asset set.

``gallery`` (``assetgen gallery``), ``diff`` (``assetgen diff``, text and JSON),
``diffhtml`` (its before/after page), ``thumbs`` (WebP thumbnails), ``page`` (the
shared page shell and the ``web/`` assets), ``gitfiles`` (files at a git revision).
"""
