"""The explore room: several candidates per asset, a review page, and the pick that pins one.

``candidates`` (deterministic candidate seeds and their specs), ``state`` (which assets
were explored: ``.assetgen/explore/state.json``, rebuilt from the cache), ``run``
(the generations, through the build executor, never touching outputs or the lock),
``pick`` (the minimal edit of the manifest), ``page`` (the review page).
"""
