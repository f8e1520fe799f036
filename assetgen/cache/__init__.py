"""The cache room: spec hash -> image bytes and the record of their making.

``records`` holds CacheRecord and the Cache protocol; ``store`` the local
content-addressed cache (``LocalCache``); ``open`` picks one (``open_cache``,
``project_cache``); ``blobpacks``/``recordpacks``/``dirindex`` are its packed files;
``tiered`` puts the local cache in front of a remote one (``remote/``); ``sync``
is ``cache push|pull``. Remote I/O fans out on daemon threads (``remote.fanout``).
"""
