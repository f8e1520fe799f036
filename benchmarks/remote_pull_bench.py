"""Pull of N cached 1K images from a local nginx remote cache: assetgen vs ``curl --parallel``.

Figures, no asserts. nginx (Debian's, with its WebDAV PUT location; see
tests/servers.py) serves the Bazel-style layout on 127.0.0.1. The images are N
distinct 1K drafts (rendered in worker processes before any clock starts; about
70 KB each), pushed with ``push_all``. Then, each from an empty directory:

(a) ``cachesync.pull_all`` of the N lock entries into an empty local cache, at each
    ``--jobs`` value (pipelined connections, ``$ASSETGEN_REMOTE_PIPELINE`` GETs in
    flight on each): one verified GET of ``/cas/<sha>`` per image, appended to the
    receiving stream's pack in the cache (blobpacks.py), and the records as one pack;
(b) ``curl --parallel --parallel-max K`` over the same N URLs, each to a file, at
    each ``--curl`` value.

A table gives the best of ``--runs`` for each (interleaved), and the ratio of
assetgen's MB/s at the default concurrency (``DEFAULT_PULL_STREAMS``) to curl's
best (target >= 0.8). On a shared machine the disk and the CPU change speed from
one second to the next, so the two are also run back to back, ``--runs`` pairs,
and the median of the pairs' ratios is printed too.

    python benchmarks/remote_pull_bench.py [--images 1000] [--runs 3] [--jobs 1,2,4]
        [--curl 8,16,32,64] [--image-kb KB] [--dest DIR]

``--image-kb`` uses random bytes of that size instead of drafts (a 1024x1024 PNG of
a photographic image is often over 1 MB); ``--dest`` puts every file the benchmark
writes there.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the same nginx launcher as the tests

from servers import nginx_binary, nginx_server  # noqa: E402

from assetgen.cache.records import record_from_entry  # noqa: E402
from assetgen.cache.remote.connect import open_remote  # noqa: E402
from assetgen.cache.store import LocalCache  # noqa: E402
from assetgen.cache.sync import DEFAULT_PULL_STREAMS, DEFAULT_TRANSFER_JOBS, pull_all, push_all  # noqa: E402
from assetgen.lock.model import LockEntry  # noqa: E402
from assetgen.manifest.resolve import parse_manifest  # noqa: E402
from assetgen.providers.draft import render_draft  # noqa: E402
from assetgen.spec import AssetSpec  # noqa: E402


def specs(n: int) -> tuple[AssetSpec, ...]:
    values = ", ".join(str(i) for i in range(n))
    text = (
        "version: 1\nprovider: draft\ndefaults: {quality: 1K}\nassets:\n"
        f"  bench-${{i}}:\n    matrix: {{i: [{values}]}}\n"
        '    prompt: "flat vector illustration, benchmark tile number ${i}"\n'
    )
    return parse_manifest(text.encode(), "bench.yaml", providers=("evolink", "draft")).specs


def noise(size: int, spec: AssetSpec) -> bytes:
    """``size`` incompressible bytes, distinct per spec: the size of a photographic PNG."""
    return hashlib.sha256(spec.spec_hash.encode()).digest() + os.urandom(size - 32)


def populate(cache: LocalCache, n: int, size: int | None) -> list[LockEntry]:
    """N distinct images in ``cache`` (drafts, or ``size`` bytes of noise each), and the
    lock entries that name them."""
    all_specs = specs(n)
    if size:
        images = [noise(size, spec) for spec in all_specs]
    else:
        with concurrent.futures.ProcessPoolExecutor() as pool:
            images = list(pool.map(render_draft, all_specs, chunksize=16))
    entries = []
    for spec, data in zip(all_specs, images, strict=True):
        entry = LockEntry(
            spec.spec_hash, spec.request, spec.output, hashlib.sha256(data).hexdigest(),
            len(data), spec.width, spec.height, "png",
        )  # fmt: skip
        cache.put(record_from_entry(entry), {"png": data}, replace=True)
        entries.append(entry)
    return entries


def time_pull(url: str, entries: list[LockEntry], jobs: int, dest: Path) -> tuple[float, int]:
    remote = open_remote(url, connections=jobs)
    try:
        stats = pull_all(remote, LocalCache(dest), entries, jobs=jobs)
    finally:
        remote.close()
    assert stats.copied == len(entries), stats
    return stats.seconds, stats.bytes


def time_curl(url: str, entries: list[LockEntry], parallel: int, dest: Path) -> tuple[float, int]:
    dest.mkdir(parents=True)
    config = dest.parent / f"{dest.name}.curl"
    config.write_text(
        "".join(f'url = "{url}/cas/{e.sha256}"\noutput = "{dest}/{e.sha256}"\n' for e in entries),
        encoding="utf-8",
    )
    command = [
        "curl",
        "--silent",
        "--no-progress-meter",
        "--fail",
        "--parallel",
        "--parallel-max",
        str(parallel),
    ]
    started = time.perf_counter()
    subprocess.run([*command, "--config", str(config)], check=True)
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in dest.iterdir())
    assert size == sum(e.bytes for e in entries)
    return seconds, size


def timed(tool: str, url: str, entries: list[LockEntry], k: int, dest: Path) -> tuple[float, int]:
    os.sync()  # the last run's writeback must not slow this one down
    measure = time_pull if tool == "assetgen" else time_curl
    try:
        return measure(url, entries, k, dest)
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def table(
    url: str, entries: list[LockEntry], configs: list[tuple[str, int]], runs: int, base: Path
) -> dict[tuple[str, int], float]:
    """MB/s per (tool, concurrency), best of ``runs``, interleaved so a slow spell hits all."""
    results: dict[tuple[str, int], list[tuple[float, int]]] = {}
    for run in range(runs):
        for tool, k in configs if run % 2 == 0 else configs[::-1]:
            dest = base / f"{tool}-{k}-{run}"
            results.setdefault((tool, k), []).append(timed(tool, url, entries, k, dest))
    best = {}
    for (tool, k), measured in results.items():
        seconds, size = min(measured)
        best[(tool, k)] = size / 1e6 / seconds
        label = (
            f"assetgen pull_all jobs {k:>3}"
            if tool == "assetgen"
            else f"curl --parallel-max {k:>3}"
        )
        print(f"{label}: {seconds:.3f}s  {best[(tool, k)]:7.1f} MB/s  (best of {len(measured)})")
    return best


def paired(url: str, entries: list[LockEntry], curl_k: int, runs: int, base: Path) -> list[float]:
    """assetgen's MB/s over curl's, each pair run back to back: on a shared machine the
    disk and the CPU change speed from one second to the next, and a pair shares them."""
    ratios = []
    for run in range(runs):
        order = ("assetgen", "curl") if run % 2 == 0 else ("curl", "assetgen")
        seconds = {}
        for tool in order:
            k = DEFAULT_PULL_STREAMS if tool == "assetgen" else curl_k
            seconds[tool] = timed(tool, url, entries, k, base / f"pair-{tool}-{run}")[0]
        ratios.append(seconds["curl"] / seconds["assetgen"])
        print(f"  pair {run + 1}: assetgen {seconds['assetgen']:.3f}s, curl {seconds['curl']:.3f}s")
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", default="1,2,4")
    parser.add_argument("--curl", default="8,16,32,64")
    parser.add_argument(
        "--dest", type=Path, default=None, help="where pulls write (default: a temp dir)"
    )
    parser.add_argument(
        "--image-kb", type=int, default=0, help="random images of this size instead of drafts"
    )
    args = parser.parse_args()
    if nginx_binary() is None or shutil.which("curl") is None:
        print("needs nginx and curl (apt-get install nginx curl)")
        return 2
    jobs = sorted({int(j) for j in args.jobs.split(",")} | {DEFAULT_PULL_STREAMS})
    curls = [int(k) for k in args.curl.split(",")]
    with tempfile.TemporaryDirectory(prefix="assetgen-pull-bench-", dir=args.dest) as tmp:
        base = Path(tmp)
        source = LocalCache(base / "source")
        t0 = time.perf_counter()
        entries = populate(source, args.images, args.image_kb * 1000)
        total = sum(e.bytes for e in entries)
        what = "random-byte" if args.image_kb else "draft 1K"
        print(
            f"{len(entries)} {what} images, {total / 1e6:.1f} MB "
            f"({total / len(entries) / 1e3:.0f} KB each), made in {time.perf_counter() - t0:.1f}s"
        )
        with nginx_server(base / "nginx") as nginx:
            remote = open_remote(nginx.url)
            pushed = push_all(source, remote, entries, jobs=DEFAULT_TRANSFER_JOBS)
            remote.close()
            print(
                f"push_all: {pushed.copied} entries in {pushed.seconds:.2f}s, "
                f"{pushed.mb_per_s:.0f} MB/s (jobs {DEFAULT_TRANSFER_JOBS})"
            )
            configs = [("assetgen", j) for j in jobs] + [("curl", k) for k in curls]
            best = table(nginx.url, entries, configs, args.runs, base)
            top = max(curls, key=lambda k: best[("curl", k)])
            ratio = best[("assetgen", DEFAULT_PULL_STREAMS)] / best[("curl", top)]
            print(
                f"assetgen at jobs {DEFAULT_PULL_STREAMS} / curl's best (--parallel-max {top}): "
                f"{ratio:.2f} (target >= 0.80)"
            )
            pairs = paired(nginx.url, entries, top, args.runs, base)
        print(
            f"paired runs (assetgen jobs {DEFAULT_PULL_STREAMS}, curl --parallel-max {top}), "
            f"assetgen MB/s / curl MB/s: median {statistics.median(pairs):.2f} "
            f"(each: {' '.join(f'{r:.2f}' for r in sorted(pairs))})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
