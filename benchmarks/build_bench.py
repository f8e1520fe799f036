"""Whole-process `assetgen build` figures.

1. A no-op build of 10,000 assets against the null `plan` of the same project
   (target: within 1.2x).
2. Draft builds of 200 1K assets from scratch with --jobs 1, 2 and 4: assets per
   second and peak RSS (target: at least 20 assets/s per core).

    python benchmarks/build_bench.py [--noop-assets 10000] [--draft-assets 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from plan_bench import write_project


def run(root: Path, *args: str) -> tuple[float, int, str]:
    """(wall seconds, peak RSS bytes, output) of one assetgen process."""
    exe = shutil.which("assetgen")
    cmd = [exe] if exe else [sys.executable, "-m", "assetgen"]
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [*cmd, "-C", str(root), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"assetgen {' '.join(args)} failed: {text[-800:]}")
    return wall, usage.ru_maxrss * 1024, text


def noop(n: int, runs: int, work: Path) -> None:
    root = work / "noop"
    write_project(root, n)
    run(root, "plan")  # warm the memos and the stat cache
    run(root, "build")
    plans = [run(root, "plan")[0] for _ in range(runs)]
    builds = []
    for _ in range(runs):
        wall, _, out = run(root, "build")
        assert "Up to date" in out, out
        builds.append(wall)
    p, b = statistics.median(plans), statistics.median(builds)
    print(
        f"no-op build, {n:,} assets: build {b:.3f}s vs null plan {p:.3f}s = {b / p:.2f}x (medians of {runs})"
    )
    shutil.rmtree(root)


def draft_manifest(n: int) -> str:
    lines = [
        "version: 1",
        "provider: draft",
        "defaults:",
        "  quality: 1K",
        "assets:",
        "  bench-${i}:",
        f"    matrix: {{i: [{', '.join(str(i) for i in range(n))}]}}",
        '    prompt: "flat vector illustration, benchmark tile number ${i}, navy and sky-blue"',
    ]
    return "\n".join(lines) + "\n"


def drafts(n: int, jobs: tuple[int, ...], work: Path) -> None:
    cores = os.cpu_count() or 1
    for j in jobs:
        root = work / f"draft-{j}"
        root.mkdir()
        (root / "assetgen.yaml").write_text(draft_manifest(n))
        wall, rss, out = run(root, "build", "--jobs", str(j))
        assert f"{n} generated" in out, out[-500:]
        rate = n / wall
        print(
            f"draft build, {n} 1K assets, --jobs {j}: {wall:.2f}s, {rate:.1f} assets/s "
            f"({rate / min(j, cores):.1f} per busy core), peak RSS {rss / 1e6:.0f} MB"
        )
        shutil.rmtree(root)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--noop-assets", type=int, default=10000)
    ap.add_argument("--draft-assets", type=int, default=200)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="assetgen-build-bench-") as tmp:
        noop(args.noop_assets, args.runs, Path(tmp))
        drafts(args.draft_assets, tuple(args.jobs), Path(tmp))


if __name__ == "__main__":
    main()
