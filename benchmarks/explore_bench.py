"""Whole-process `assetgen explore --page` figures: 100 draft assets x 4 candidates.

A project of N 1K draft assets is built, then every asset explored with `-n K` (not
timed: `assetgen build --jobs 2`, `assetgen explore 'bench-*' -n K --jobs 2`). Then:

0. the page right after explore, which made each candidate's thumbnail as it came in:
   only the current outputs' thumbnails are left to make;
1. first run: no thumbnail exists at all (`.assetgen/thumbs` and the page folder's
   `thumbs/` are removed before each run); target < 5 s for 100 x 4;
2. second run: every thumbnail is cached; target < 1 s.

    python benchmarks/explore_bench.py [--assets 100] [-n 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from build_bench import draft_manifest, run
from gallery_bench import timed


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--assets", type=int, default=100)
    ap.add_argument("-n", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    n, k = args.assets, args.n
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="assetgen-explore-bench-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        (root / "assetgen.yaml").write_text(draft_manifest(n))
        wall, _, out = run(root, "build", "--jobs", "2")
        assert f"{n} generated" in out, out[-500:]
        wall2, _, out = run(root, "explore", "bench-*", "-n", str(k), "--jobs", "2")
        assert f"{n * k} generated" in out, out[-500:]
        print(f"draft build of {n} assets {wall:.1f}s, explore of {n * k} candidates {wall2:.1f}s")
        state = root / ".assetgen"
        page_dir = state / "explore"
        # The page right after explore: explore made the candidates' thumbnails as each
        # image came in, so the page makes only the current outputs' ones.
        after_wall, after_cpu, out = timed(root, "explore", "--page")
        assert f"{n} new thumbnails" in out, out
        firsts, seconds, first_cpu, second_cpu = [], [], [], []
        for _ in range(args.runs):
            shutil.rmtree(state / "thumbs", ignore_errors=True)
            shutil.rmtree(page_dir / "thumbs", ignore_errors=True)
            wall, cpu, out = timed(root, "explore", "--page")
            assert f"{n * (k + 1)} new thumbnails" in out, out
            firsts.append(wall)
            first_cpu.append(cpu)
        for _ in range(args.runs):
            wall, cpu, out = timed(root, "explore", "--page")
            assert "0 new thumbnails" in out, out
            seconds.append(wall)
            second_cpu.append(cpu)
        page = page_dir / "index.html"
        print(
            f"review page right after explore ({n} thumbnails of current outputs to make; "
            f"explore made the {n * k} candidates' own): {after_wall:.2f}s, CPU {after_cpu:.2f}s"
        )
        print(
            f"review page of {n} assets x {k} candidates, first run ({n * (k + 1)} thumbnails): "
            f"{statistics.median(firsts):.2f}s median of {args.runs} "
            f"(min {min(firsts):.2f}s, max {max(firsts):.2f}s); CPU {statistics.median(first_cpu):.2f}s"
            " (target < 5 s)"
        )
        print(
            f"review page, second run (thumbnails cached): {statistics.median(seconds):.3f}s "
            f"median of {args.runs} (min {min(seconds):.3f}s, max {max(seconds):.3f}s); "
            f"CPU {statistics.median(second_cpu):.3f}s (target < 1 s)"
        )
        print(f"page: {page.stat().st_size / 1e6:.2f} MB of HTML")


if __name__ == "__main__":
    main()
