"""The commands room: one module per command family, plain functions returning exit codes.

``parser`` is the argparse parser; ``project`` holds the commands that read or build a
project (init, validate, plan, build, gallery, diff); ``cache`` cache info/gc and credits; ``sharing`` those that share a team's work
(``cache push|pull``, ``merge-lock``, ``init --git``). ``assetgen.cli`` dispatches here.
"""

__all__ = ["cache", "parser", "project", "sharing"]
