"""The build room: running a Plan against a provider, the cache and the output tree.

``run.run_build`` is the entry point and its phases; ``context.BuildContext`` the one
build's state; ``jobs`` one asset's job (produce, verify, cache, write, commit);
``selection`` and ``shard`` narrow the plan; ``journal`` and ``tasks``/``orphans`` keep
paid work across a kill; ``outputs``, ``relocate`` and ``adopt`` manage the output
tree; ``failures``, ``report`` and ``live`` tell what happened.

Concurrency, one model: one anyio task group per build, its jobs under a
CapacityLimiter of ``--jobs`` (``--jobs 1``: the same path, one at a time). A
provider's waits are awaits on its event loop; blocking work of a job (hashing,
decoding, the cache, writing an output) goes to ``anyio.to_thread``, limited by the
same slots, so the loop never blocks and a ^C cancels the group. The cache a job
calls may start threads of its own (uploads to a remote: see ``assetgen.cache``).

Other rooms import the modules in ``__all__``; the rest are the build's own.
"""

__all__ = ["adopt", "context", "failures", "journal", "live", "report", "run", "selection", "shard"]
