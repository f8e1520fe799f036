"""Whole-process `assetgen gallery` figures on a set of draft assets.

A project of N 1K draft assets is built first (not timed: `assetgen build --jobs 2`).
Then:

1. first run: no thumbnail exists yet (`.assetgen/thumbs` and the gallery are removed
   before each run); target <= 15 s for 1,000 assets on 2 cores;
2. second run: every thumbnail is cached; target <= 2 s.

    python benchmarks/gallery_bench.py [--assets 1000] [--runs 3]
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
from build_bench import draft_manifest, run


def timed(root: Path, *args: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process and its workers, output) of one assetgen run.

    CPU time is printed beside wall time because it does not depend on what else the
    machine is doing: on an idle machine wall time is about CPU time / cores in the pool.
    """
    exe = shutil.which("assetgen")
    cmd = [exe] if exe else [sys.executable, "-m", "assetgen"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*cmd, "-C", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stdout is not None
    text = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"assetgen {' '.join(args)} failed: {text[-800:]}")
    return wall, usage.ru_utime + usage.ru_stime, text


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--assets", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    n = args.assets
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="assetgen-gallery-bench-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        (root / "assetgen.yaml").write_text(draft_manifest(n))
        wall, _, out = run(root, "build", "--jobs", "2")
        assert f"{n} generated" in out, out[-500:]
        print(f"draft build of {n:,} 1K assets (not timed below): {wall:.1f}s")
        state = root / ".assetgen"
        firsts, seconds, first_cpu, second_cpu = [], [], [], []
        for _ in range(args.runs):
            shutil.rmtree(state / "thumbs", ignore_errors=True)
            shutil.rmtree(state / "gallery", ignore_errors=True)
            wall, cpu, out = timed(root, "gallery")
            assert f"{n} new thumbnails" in out, out
            firsts.append(wall)
            first_cpu.append(cpu)
        for _ in range(args.runs):
            wall, cpu, out = timed(root, "gallery")
            assert "0 new thumbnails" in out, out
            seconds.append(wall)
            second_cpu.append(cpu)
        page = state / "gallery" / "index.html"
        thumbs = list((state / "gallery" / "thumbs").iterdir())
        thumb_bytes = sum(t.stat().st_size for t in thumbs)
        print(
            f"gallery of {n:,} draft assets, first run (no thumbnails): "
            f"{statistics.median(firsts):.2f}s median of {args.runs} "
            f"(min {min(firsts):.2f}s, max {max(firsts):.2f}s); "
            f"CPU {statistics.median(first_cpu):.2f}s"
        )
        print(
            f"gallery of {n:,} draft assets, second run (thumbnails cached): "
            f"{statistics.median(seconds):.3f}s median of {args.runs} "
            f"(min {min(seconds):.3f}s, max {max(seconds):.3f}s); "
            f"CPU {statistics.median(second_cpu):.3f}s"
        )
        print(
            f"page: {page.stat().st_size / 1e6:.2f} MB of HTML, {len(thumbs):,} thumbnails "
            f"({thumb_bytes / 1e6:.1f} MB, {thumb_bytes / max(1, len(thumbs)) / 1e3:.1f} kB each)"
        )


if __name__ == "__main__":
    main()
