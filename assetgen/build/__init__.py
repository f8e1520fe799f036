"""The build room: running a Plan against a provider, the cache and the output tree.

``run.run_build`` is the entry point and its phases; ``context.BuildContext`` the one
build's state; ``jobs`` one asset's job (produce, verify, cache, write, commit); ``selection`` and ``shard`` narrow the plan;
``journal`` and ``tasks``/``orphans`` keep paid work across a kill; ``outputs``,
``relocate`` and ``adopt`` manage the output tree; ``failures`` and ``report`` tell
what happened. Concurrency: one anyio task group with a CapacityLimiter per build.
"""
