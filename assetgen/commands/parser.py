"""The argparse parser of the ``assetgen`` command line: every command, flag and help text."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._version import __version__
from ..errors import UsageError
from ..providers import PROVIDERS, is_provider, unknown_provider_hint


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "-C",
        dest="directory",
        metavar="DIR",
        default=default,
        help="run as if assetgen was started in DIR",
    )
    parser.add_argument(
        "-f",
        "--file",
        dest="manifest",
        metavar="FILE",
        default=default,
        help="the manifest (default: assetgen.yaml)",
    )


def _provider_name(value: str) -> str:
    """A built-in provider, or one an installed package declares (scanned only then)."""
    if is_provider(value):
        return value
    from ..providers import available_providers

    known = ", ".join(available_providers())
    raise argparse.ArgumentTypeError(
        f"unknown provider `{value}` (known: {known}); {unknown_provider_hint(value)}"
    )


def _provider(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--provider",
        type=_provider_name,
        default=None,
        metavar="NAME",
        help=f"generate with this provider instead of the manifest's (part of each spec): "
        f"{', '.join(PROVIDERS)}, or one an installed package provides",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assetgen",
        description="Build AI-generated image assets from a manifest, paying only for what changed.",
    )
    parser.add_argument("--version", action="version", version=f"assetgen {__version__}")
    _common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        _common(p, suppress=True)
        return p

    p = command("init", "write a starter manifest")
    p.add_argument("--force", action="store_true", help="overwrite an existing manifest")
    p.add_argument(
        "--git",
        action="store_true",
        help="also send the lock to assetgen's git merge driver (.gitattributes); "
        "an existing manifest is kept",
    )

    p = command("validate", "check the manifest; every problem with file:line:col")
    _provider(p)

    p = command("plan", "show what a build would do and what it would cost")
    _provider(p)
    _names(p, "plan only these assets")
    p.add_argument("--json", action="store_true", help="print the plan as one JSON object")

    p = command("check", "like plan, for CI: exit 1 when anything is out of date")
    _provider(p)
    _names(p, "check only these assets")
    p.add_argument("--json", action="store_true", help="print the plan as one JSON object")

    p = command("build", "generate what is new or changed, and write the lock")
    _provider(p)
    _names(p, "build only these assets")
    p.add_argument(
        "-j", "--jobs", type=_positive_int, default=8, help="assets in flight at once (default 8)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="regenerate the selected assets, bypassing the cache; an asset edited by hand "
        "(or adopted) gets its generated image back from the cache instead",
    )
    p.add_argument(
        "--rederive",
        action="append",
        default=[],
        metavar="NAME/GLOB",
        help="derive these assets' derived files again from their master as it is, "
        "overwriting hand edits; free: the master is not regenerated (repeatable)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and touch nothing")
    p.add_argument(
        "--max-credits",
        type=_credits,
        metavar="X",
        default=None,
        help="refuse to start when the estimate is above X credits",
    )
    p.add_argument(
        "--no-balance-check",
        dest="balance_check",
        action="store_false",
        help="do not ask the gateway for the balance before a build that would spend more "
        "than ASSETGEN_BALANCE_CHECK_ABOVE credits (default 5)",
    )
    p.add_argument(
        "--fail-fast", action="store_true", help="start nothing new after the first failure"
    )
    p.add_argument(
        "--json", action="store_true", help="newline-delimited JSON events, then a summary"
    )
    p.add_argument(
        "--gallery", action="store_true", help="then write the HTML gallery (see `gallery`)"
    )
    p.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        default=None,
        help="build only shard I of N (a stable split by asset name), for N CI runners",
    )
    p.add_argument(
        "--no-push",
        dest="push",
        action="store_false",
        help="do not upload new images to the remote cache (it is still read)",
    )

    p = command(
        "adopt",
        "record an output edited by hand as the asset's output (build keeps such files)",
    )
    _provider(p)
    p.add_argument("names", nargs="+", metavar="NAME/GLOB", help="the assets to adopt")

    p = command(
        "explore", "generate K candidates per asset (its request, other seeds) to pick from"
    )
    _provider(p)
    _names(p, "explore these assets")
    p.add_argument(
        "-n", type=_positive_int, default=4, metavar="K", help="candidates per asset (default 4)"
    )
    p.add_argument(
        "-j", "--jobs", type=_positive_int, default=8, help="candidates in flight (default 8)"
    )
    p.add_argument(
        "--max-credits", type=_credits, metavar="X", default=None, help="refuse above X credits"
    )
    p.add_argument(
        "--no-balance-check",
        dest="balance_check",
        action="store_false",
        help="do not check the gateway's balance first (as build)",
    )
    p.add_argument(
        "--no-push", dest="push", action="store_false", help="do not upload them to the remote"
    )
    p.add_argument("--json", action="store_true", help="one JSON event per candidate")
    p.add_argument(
        "--page", action="store_true", help="write the review page (.assetgen/explore/index.html)"
    )
    p.add_argument(
        "--clear", action="store_true", help="forget the candidates of NAME... (all without names)"
    )
    p = command("pick", "pin a candidate's seed in the manifest; the next build restores it free")
    p.add_argument("name", metavar="NAME", help="the asset")
    p.add_argument("k", nargs="?", type=_positive_int, metavar="K", help="the candidate number")
    p.add_argument("--seed", type=int, default=None, metavar="N", help="pin this seed instead")

    p = command("gallery", "write an HTML page of every asset: thumbnails, prompts, states")
    _provider(p)
    _names(p, "show only these assets")
    p.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        type=Path,
        default=None,
        help="write DIR/index.html (default: .assetgen/gallery/ beside the manifest)",
    )

    p = command("diff", "show each changed asset before and after, against an older lock")
    _provider(p)
    _names(p, "compare only these assets (names now or in the older lock)")
    old = p.add_mutually_exclusive_group()
    old.add_argument(
        "--against",
        metavar="REV",
        default=None,
        help="the lock at this git revision (default HEAD)",
    )
    old.add_argument(
        "--lock", metavar="FILE", type=Path, default=None, help="compare with this lock file"
    )
    shape = p.add_mutually_exclusive_group()
    shape.add_argument(
        "--html", action="store_true", help="write a before/after page (default .assetgen/diff/)"
    )
    shape.add_argument("--json", action="store_true", help="print the diff as one JSON object")
    p.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        type=Path,
        default=None,
        help="with --html: write DIR/index.html",
    )

    p = command("cache", "inspect or trim the content-addressed cache")
    cache_sub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    cp = cache_sub.add_parser("info", help="entries and bytes in the cache")
    _common(cp, suppress=True)
    cp = cache_sub.add_parser("gc", help="drop entries the lock does not reference")
    _common(cp, suppress=True)
    cp.add_argument(
        "--older-than",
        metavar="AGE",
        help="only those cached longer ago than AGE (30d, 12h): for caches shared by checkouts",
    )
    cp.add_argument(
        "--include-locked",
        action="store_true",
        help="with --older-than: old entries the lock references go too (a fresh clone "
        "then pays to restore them)",
    )
    for verb, what in (
        ("push", "upload every locked image to the remote cache"),
        ("pull", "download every locked image from the remote cache"),
    ):
        cp = cache_sub.add_parser(verb, help=what, description=what)
        _common(cp, suppress=True)
        if verb == "push":
            cp.add_argument(
                "--mkdir",
                action="store_true",
                help="create a file:// remote's folder when it does not exist (never done unasked)",
            )
        cp.add_argument(
            "-j",
            "--jobs",
            type=_positive_int,
            default=None,
            help="uploads at once (push), or download streams, each pipelined over HTTP (pull)",
        )

    p = sub.add_parser(
        "merge-lock",
        help="git merge driver for the lock: merges per asset, never leaves conflict markers",
        description="git merge driver for the lock (set up by `assetgen init --git`): "
        "an asset changed on one side takes that side; changed on both, ours is kept and "
        "the next plan shows it as an update.",
    )
    p.add_argument("files", nargs="+", metavar="BASE OURS THEIRS [PATH]")

    p = command("schema", "print the JSON Schema of the manifest (or of the lock)")
    p.add_argument("--lock", action="store_true", help="the lock's schema instead")

    p = command("credits", "show the EvoLink balance of EVOLINK_API_KEY and its account")
    p.add_argument("--json", action="store_true", help="print the gateway's balance object")

    p = command("emulator", "serve a local EvoLink-compatible API for offline pipelines and tests")
    e = p.add_argument
    e("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    e("--port", type=int, default=8765, help="port; 0 picks a free one (default 8765)")
    e("--key", default="sk-evo-emulator-local", help="the API key it accepts")
    e("--denied-key", action="append", metavar="KEY", help="also accept KEY, without model access")
    e("--credits", type=float, default=10_000.0, help="account balance (default 10000)")
    e(
        "--charge-factor",
        type=float,
        default=1.0,
        metavar="F",
        help="a completed task costs F times its reservation (default 1)",
    )
    e("--latency", type=float, default=2.0, help="seconds from submit to done (default 2)")
    e("--jitter", type=float, default=0.0, help="+- seconds of uniform jitter on latency")
    e("--seed", type=int, default=None, help="seed for latency jitter, faults and task ids")
    e("--max-in-flight", type=int, default=None, metavar="N", help="429 beyond N running tasks")
    e("--retry-after", type=int, default=1, metavar="S", help="Retry-After of 429s (default 1)")
    e("--error-rate", type=float, default=0.0, metavar="P", help="500/502/503 on API calls")
    e("--fail-rate", type=float, default=0.0, metavar="P", help="tasks that end failed")
    e("--fail-codes", default="service_error", metavar="A,B", help="codes of failed tasks")
    e("--fail-prompt", action="append", metavar="TEXT", help="fail prompts containing TEXT")
    e("--truncate-rate", type=float, default=0.0, metavar="P", help="downloads cut short")
    e("--url-lifetime", type=float, default=86_400.0, metavar="S", help="result URL life (24 h)")
    e("--format", choices=("png", "jpeg"), default="png", help="result image format")
    e("--results", type=int, default=1, metavar="N", help="result URLs per task (default 1)")
    e(
        "--api",
        choices=("evolink", "openai"),
        default="evolink",
        help="the API to speak: EvoLink's task API, or OpenAI's Images API (default evolink)",
    )
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _shard(text: str) -> tuple[int, int]:
    from ..build.shard import parse_shard

    try:
        return parse_shard(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).splitlines()[0]) from None


def _credits(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of credits (0 or more)")
    return value


def _names(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("names", nargs="*", metavar="NAME/GLOB", help=f"{what} (names or globs)")
