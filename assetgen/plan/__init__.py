"""The plan room: the pure planner and its renderings.

``planner.make_plan`` compares manifest specs, the lock, file digests and cache
membership and returns a Plan with a reason for every action; ``render`` prints it
for people and as ``plan --json``; ``paid`` counts tasks a killed build paid for.
"""

__all__ = ["paid", "planner", "render"]
