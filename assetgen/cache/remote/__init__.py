"""Remote cache backends: a shared disk, an HTTP cache server, or an S3 bucket.

``stores`` holds the RemoteStore protocol and the file and S3 backends; ``connect``
is ``open_remote``; ``http`` speaks Bazel's GET/PUT/HEAD protocol over ``http11``;
``fanout`` runs many requests at once on threads a ^C never waits for (the model of
every foreground transfer: see ``assetgen.cache``). Only the cache room uses it.
"""

__all__ = ["connect", "fanout", "http", "stores"]
