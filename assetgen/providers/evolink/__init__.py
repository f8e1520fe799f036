"""The ``evolink`` provider: EvoLink's asynchronous image route.

``provider`` is the Provider (``from_env``); ``task`` one asset's submit/poll/download
life; ``body`` the request and result bodies; ``config`` the environment knobs; ``http``
the HTTP edge and error translation; ``net`` the transport; ``retry``
time, backoff and the in-flight window; ``fetch`` the download rules; ``secrets``
scrubs the API key from what the gateway sends.
"""

__all__ = ["provider"]
