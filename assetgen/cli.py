"""The ``assetgen`` command line: parse, dispatch, and map outcomes to exit codes.

Exit codes, the same for every command:

====  ==========================================================================
0     ok
1     some assets failed, or ``check`` found work to do
2     invalid manifest or lock, or a usage error (bad flags, missing API key)
3     internal error: a bug; the traceback is shown
130   interrupted (Ctrl-C, SIGTERM)
====  ==========================================================================
"""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# The console script and `python -m assetgen` import this module before main() runs,
# so a ^C while it loads would escape every handler as a traceback: here it is the
# same quiet exit 130 as a ^C in a command.
try:
    import argparse
    import traceback
    from collections.abc import Sequence
    from pathlib import Path

    from . import memo
    from ._version import __version__
    from .commands.parser import build_parser
    from .errors import AssetgenError, ManifestError, UsageError
    from .project import find_project
except KeyboardInterrupt:
    print("assetgen: interrupted", file=sys.stderr)
    raise SystemExit(EXIT_INTERRUPTED) from None


def _dispatch(args: argparse.Namespace) -> int:
    from .commands import project as commands

    if args.command == "schema":
        return commands.print_schema("lock" if args.lock else "manifest")
    if args.command == "credits":
        from .commands import cache as cache_commands

        return cache_commands.credits(as_json=args.json)
    if args.command == "emulator":
        from .emulator import serve_command

        return serve_command(args)
    if args.command == "merge-lock":  # run by git in the repository; no project of its own
        from .commands.sharing import merge_lock

        return merge_lock(args.files)
    project = find_project(args.directory, args.manifest, search=args.command != "init")
    if args.command == "init":
        if args.git:
            from .commands.sharing import init_git

            if args.force or not project.manifest_path.exists():
                commands.init(project, force=args.force)
            return init_git(project)
        return commands.init(project, force=args.force)
    if args.command == "validate":
        return commands.validate(project, provider=args.provider)
    if args.command in ("plan", "check"):
        return commands.plan(
            project,
            provider=args.provider,
            as_json=args.json,
            check=args.command == "check",
            selection=tuple(args.names),
        )
    if args.command == "build":
        from .build.selection import BuildOptions

        options = BuildOptions(
            jobs=args.jobs,
            selection=tuple(args.names),
            force=args.force,
            rederive=tuple(args.rederive),
            fail_fast=args.fail_fast,
            dry_run=args.dry_run,
            max_credits=args.max_credits,
            balance_check=args.balance_check,
            shard=args.shard,
            push=args.push,
        )
        return commands.build(
            project,
            options=options,
            provider=args.provider,
            as_json=args.json,
            gallery=args.gallery,
        )
    if args.command == "adopt":
        from .build.adopt import adopt

        return adopt(project, list(args.names), provider=args.provider)
    if args.command in ("explore", "pick"):
        from .commands import explore

        return explore.dispatch(project, args)
    if args.command == "gallery":
        return commands.gallery(
            project,
            provider=args.provider,
            out_dir=_under(args.directory, args.output),
            selection=tuple(args.names),
        )
    if args.command == "diff":
        if args.output is not None and not args.html:
            raise UsageError("-o/--output is for --html pages\n  hint: add --html")
        return commands.diff(
            project,
            against=args.against,
            lock_file=_under(args.directory, args.lock),
            provider=args.provider,
            html=args.html,
            as_json=args.json,
            out_dir=_under(args.directory, args.output),
            selection=tuple(args.names),
        )
    if args.command == "cache":
        if args.cache_command == "info":
            from .commands import cache as cache_commands

            return cache_commands.cache_info(project)
        if args.cache_command in ("push", "pull"):
            from .commands.sharing import cache_transfer

            return cache_transfer(
                project,
                push=args.cache_command == "push",
                jobs=args.jobs,
                mkdir=getattr(args, "mkdir", False),
            )
        from .commands import cache as cache_commands

        return cache_commands.cache_gc(
            project, older_than=args.older_than, include_locked=args.include_locked
        )
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover


def _under(directory: str | None, path: Path | None) -> Path | None:
    """A path from the command line, relative to ``-C DIR`` when given (as if started there)."""
    if path is None or directory is None:
        return path
    return Path(directory) / path


def _skip_unused_imports() -> None:
    """Spare a build ~120 ms of imports that other installed packages would trigger.

    httpcore imports trio whenever it is installed (selenium and others bring it) to
    support trio event loops, and httpx imports its own CLI (click, rich, pygments)
    whenever click is installed. The assetgen program runs on asyncio and never uses
    either, so as a program (not as a library inside someone else's process) it
    marks both as absent, which both packages handle as a missing optional import.
    """
    for name in ("trio", "httpx._main"):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def _disk_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT, or SQLite's "database or disk is full" (without importing sqlite3)."""
    import errno

    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    return type(exc).__module__ == "sqlite3" and "is full" in str(exc)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        if argv is None:  # run as the `assetgen` program, not called by a host process
            _skip_unused_imports()
            memo.freeze_loaded()
        args = build_parser().parse_args(argv)
        return _dispatch(args)
    except KeyboardInterrupt:
        print("assetgen: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ManifestError as exc:
        for d in exc.diagnostics:
            print(d, file=sys.stderr)
        n = len(exc.diagnostics)
        print(
            f"assetgen: {n} problem{'s' if n != 1 else ''} found; nothing was written",
            file=sys.stderr,
        )
        return exc.exit_code
    except AssetgenError as exc:
        print(
            f"assetgen: {exc}" if "\n" not in str(exc) and ":" not in str(exc)[:80] else exc,
            file=sys.stderr,
        )
        return exc.exit_code
    except BrokenPipeError:
        # `assetgen plan --json | head`: the reader left; that is not our failure.
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:
        if _disk_full(exc):  # a write no layer below translated: still not a bug
            from .errors import DiskFullError

            print(DiskFullError(getattr(exc, "filename", None) or "a file"), file=sys.stderr)
            return DiskFullError.exit_code
        traceback.print_exc()
        print(
            f"assetgen {__version__}: internal error (a bug); please report it with the traceback above",
            file=sys.stderr,
        )
        return EXIT_BUG
