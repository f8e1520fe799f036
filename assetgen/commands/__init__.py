"""The commands room: one module per command family, plain functions returning exit codes.

``project`` holds the commands that read or build a project (validate, plan, check,
build, gallery, diff, adopt, gc); ``sharing`` those that share a team's work
(``cache push|pull``, ``merge-lock``, ``init --git``). ``assetgen.cli`` dispatches here.
"""
