"""The cache room: spec hash -> image bytes and the record of their making.

``records`` holds CacheRecord and the ``Cache`` protocol, which plan, build, views
and sharing type against; ``store`` is the local content-addressed cache
(``LocalCache``); ``tiered.TieredCache`` wraps a LocalCache and a remote store
(``remote/``) behind the same protocol; ``open`` picks one (``open_cache``,
``project_cache``, ``local_cache``); ``blobpacks``/``recordpacks``/``dirindex`` are
the packed files; ``sync`` is ``cache push|pull``.

Concurrency, by job:

- Foreground remote I/O a caller waits on (a plan's ``has_many`` lookahead, a
  push's uploads, a pull's streams: pipelined connections over HTTP, one request at
  a time otherwise): ``remote.fanout``'s daemon threads, the calling thread one of
  them, so a ^C returns at once instead of waiting out every socket read in flight
  (up to the read timeout).
- Background uploads of what a build generates (``TieredCache.put``): a
  ThreadPoolExecutor, because they outlive the ``put`` that queued them, ``flush`` and
  ``close`` wait on a future per upload, and a process ending without ``close`` must
  still finish them (the pool's threads are joined at exit; daemon threads would be
  cut). A ^C calls ``abandon``: queued uploads are dropped, ``cache push`` sends them.

Both are thread-safe where they share state: a build calls the cache from its
worker threads.
"""

__all__ = ["open", "records", "remote", "store", "sync", "tiered"]
