"""The lock room: ``assetgen.lock``, what was built from what.

``model`` is the Lockfile and LockEntry, their format and ``write_lock``; ``read``
is ``read_lock`` (``fast`` first: the canonical layout without a YAML parser); ``check``
validates entry values for both readers; ``merge`` is the git merge driver; ``seeds``
keeps the seed an asset was first built with; ``cost`` prices a broken lock.
"""

__all__ = ["check", "cost", "fast", "merge", "model", "read", "seeds"]
