"""`assetgen build --provider evolink` throughput against the local emulator (figures, no asserts).

The emulator runs in this process (a thread); each build is an `assetgen` subprocess,
so its CPU (os.wait4 rusage) is the client's alone. Default ASSETGEN_EVOLINK_* knobs:
what a user gets.

(a) N 1K assets, 1 s latency, ``--jobs 50``: wall time vs the ideal ceil(N/50) x 1 s
    (target <= 1.15x).
(b) the same against a hidden cap of 10 tasks in flight (429 + Retry-After: 1 beyond
    it), ``--jobs 64``: throughput as a share of the ideal 10 tasks/s, i.e.
    N / wall / 10 (target >= 0.85), and 429s per asset.
(c) client CPU per asset, user+sys of the assetgen process / N (target <= 10 ms),
    from run (a); (b)'s is printed too.
(d) the openai provider against the emulator's OpenAI mode (``--api openai``): N
    gpt-image-1 1024x1024 low assets, 1 s latency, ``--jobs 50``: wall vs the ideal
    (target <= 1.15x) and client CPU per asset (target <= 10 ms). ``--only d`` runs it alone.

The emulator renders each distinct request as a draft PNG (about 30 ms of CPU at
1K) and keeps only the last 16; a real gateway serves stored files. So the N images
are rendered before the clock starts (in worker processes) and the emulator's cache
is made large enough to hold them: the timed runs measure the client and the HTTP
exchange, not Pillow drawing drafts. ``renders during runs`` should print 0.

    python benchmarks/throughput_bench.py [--assets 500] [--latency 1] [--runs 3] [--profile DIR]

``--profile DIR`` also runs build (a) under cProfile and writes DIR/build_a.prof.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assetgen.emulator import EmulatorConfig, run_emulator, spec_key
from assetgen.emulator import app as emulator_app
from assetgen.emulator.tasks import Task


def write_project(root: Path, n: int) -> Path:
    root.mkdir(parents=True)
    values = ", ".join(str(i) for i in range(n))
    (root / "assetgen.yaml").write_text(
        "version: 1\n"
        "provider: evolink\n"
        "defaults:\n"
        '  size: "1:1"\n'
        "  quality: 1K\n"
        "assets:\n"
        "  bench-${i}:\n"
        f"    matrix: {{i: [{values}]}}\n"
        '    prompt: "flat vector illustration, benchmark tile number ${i}, navy and sky-blue"\n',
        encoding="utf-8",
    )
    return root


def write_openai_project(root: Path, n: int) -> Path:
    root.mkdir(parents=True)
    values = ", ".join(str(i) for i in range(n))
    (root / "assetgen.yaml").write_text(
        "version: 1\n"
        "provider: openai\n"
        "defaults: {model: gpt-image-1, size: 1024x1024, quality: low}\n"
        "assets:\n"
        "  bench-${i}:\n"
        f"    matrix: {{i: [{values}]}}\n"
        '    prompt: "flat vector illustration, benchmark tile number ${i}, navy and sky-blue"\n',
        encoding="utf-8",
    )
    return root


def _render_openai(request: dict[str, Any]) -> tuple[str, bytes]:
    from assetgen.emulator import openai as emulator_openai

    return emulator_openai.image_key(request), emulator_openai.render(request)


def openai_scenario(
    work: Path, n: int, latency: float, jobs: int
) -> tuple[float, float, dict[str, Any]]:
    import assetgen
    from assetgen.providers.openai.provider import request_body

    root = write_openai_project(work / "d", n)
    specs = assetgen.find_project(root).load_manifest().specs
    with concurrent.futures.ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        images = dict(pool.map(_render_openai, [request_body(s) for s in specs], chunksize=16))
    with run_emulator(EmulatorConfig(latency=latency, seed=1, api="openai")) as emu:
        state = emu.state
        for key, data in images.items():
            state.cache_image(key, data, limit=10**6)
        cmd = [sys.executable, "-m", "assetgen", "-C", str(root), "build", "--jobs", str(jobs)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETGEN_OPENAI_")}
        env.update(OPENAI_BASE_URL=emu.base_url + "/v1", OPENAI_API_KEY=emu.key, NO_COLOR="1")
        with tempfile.TemporaryFile() as out:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            out.seek(0)
            text = out.read().decode(errors="replace")
        stats = emu.stats()
    if os.waitstatus_to_exitcode(status) != 0 or stats["generations"] != n:
        raise SystemExit(f"openai build failed ({stats}):\n{text[-1500:]}")
    print(f"  [d] {text.strip().splitlines()[-1]}", file=sys.stderr)
    print(f"  [d] most generations at once: {stats['max_in_flight_seen']}", file=sys.stderr)
    return wall, usage.ru_utime + usage.ru_stime, stats


def requests_of(root: Path) -> list[dict[str, Any]]:
    """The submit bodies the build will send, from the project's specs."""
    import assetgen
    from assetgen.providers.evolink.body import request_body

    manifest = assetgen.find_project(root).load_manifest()
    return [request_body(spec) for spec in manifest.specs]


def _render(request: dict[str, Any]) -> tuple[str, bytes]:
    task = Task("task-unified-0-prewarm0", 0, 0.0, 0.0, request, spec_key(request), 0.45, None)
    return spec_key(request), emulator_app.render_result(task, "png")


def prerender(requests: list[dict[str, Any]]) -> dict[str, bytes]:
    with concurrent.futures.ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(pool.map(_render, requests, chunksize=16))


def build(root: Path, emu: Any, jobs: int, profile: Path | None = None) -> tuple[float, float, str]:
    """(wall s, user+sys CPU s, output tail) of one `assetgen build` subprocess."""
    prefix = [sys.executable]
    if profile is not None:
        prefix += ["-m", "cProfile", "-o", str(profile)]
    cmd = [*prefix, "-m", "assetgen", "-C", str(root), "build", "--jobs", str(jobs)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSETGEN_EVOLINK_")}
    env.update(EVOLINK_BASE_URL=emu.base_url, EVOLINK_API_KEY=emu.key, NO_COLOR="1")
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"assetgen build --jobs {jobs} failed:\n{text[-1500:]}")
    return wall, usage.ru_utime + usage.ru_stime, text.strip().splitlines()[-1]


def scenario(
    work: Path,
    name: str,
    n: int,
    images: dict[str, bytes],
    config: EmulatorConfig,
    jobs: int,
    profile: Path | None = None,
) -> tuple[float, float, dict[str, Any], int]:
    root = write_project(work / name, n)
    renders = 0
    original = emulator_app.render_result

    def counting(task: Task, image_format: str) -> bytes:
        nonlocal renders
        renders += 1
        return original(task, image_format)

    emulator_app.render_result = counting  # the app looks it up at call time
    try:
        with run_emulator(config) as emu:
            state = emu.state
            state.cache_image = functools.partial(type(state).cache_image, state, limit=10**6)  # type: ignore[method-assign]
            for key, data in images.items():
                state.cache_image(key, data)
            before = resource.getrusage(resource.RUSAGE_SELF)
            wall, cpu, last = build(root, emu, jobs, profile)
            after = resource.getrusage(resource.RUSAGE_SELF)
            stats = emu.stats()
            stats["emulator_cpu"] = (after.ru_utime + after.ru_stime) - (
                before.ru_utime + before.ru_stime
            )
    finally:
        emulator_app.render_result = original
    print(f"  [{name}] {last}", file=sys.stderr)
    if stats["tasks_completed"] != n or stats["duplicate_submits"]:
        raise SystemExit(f"[{name}] unexpected emulator stats: {stats}")
    return wall, cpu, stats, renders


Run = tuple[float, float, dict[str, Any], int]


def median_run(runs: int, once: Callable[[int], Run]) -> Run:
    """The run with the median wall time of ``runs`` (its CPU and stats go with it)."""
    results = sorted((once(i) for i in range(runs)), key=lambda r: r[0])
    if runs > 1:
        walls = ", ".join(f"{r[0]:.2f}" for r in results)
        print(
            f"  walls: {walls}; median {statistics.median(r[0] for r in results):.2f}s",
            file=sys.stderr,
        )
    return results[(len(results) - 1) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=int, default=500)
    ap.add_argument("--latency", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=50, help="--jobs of run (a)")
    ap.add_argument("--cap", type=int, default=10, help="emulator max_in_flight of run (b)")
    ap.add_argument("--cap-jobs", type=int, default=64, help="--jobs of run (b)")
    ap.add_argument("--profile", type=Path, help="also profile run (a) into this directory")
    ap.add_argument("--only", choices=("a", "b", "d"), help="run only (a) (with c), (b) or (d)")
    ap.add_argument("--runs", type=int, default=1, help="builds per scenario; the median is shown")
    args = ap.parse_args()
    n, latency = args.assets, args.latency

    if args.only == "d":
        with tempfile.TemporaryDirectory(prefix="assetgen-throughput-") as tmp:
            wall, cpu, _ = openai_scenario(Path(tmp), n, latency, args.jobs)
        ideal = math.ceil(n / args.jobs) * latency
        print(
            f"(d) openai, {n} x 1024x1024 assets, latency {latency:g}s, --jobs {args.jobs}:"
            f" wall {wall:.2f}s vs ideal {ideal:.0f}s = {wall / ideal:.3f}x (target <= 1.15x);"
            f" client CPU {cpu / n * 1000:.2f} ms/asset (target <= 10 ms)"
        )
        return

    with tempfile.TemporaryDirectory(prefix="assetgen-throughput-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        images = prerender(requests_of(write_project(work / "specs", n)))
        print(
            f"  pre-rendered {len(images)} images in {time.perf_counter() - t0:.1f}s",
            file=sys.stderr,
        )

        base = EmulatorConfig(latency=latency, seed=1)
        capped = EmulatorConfig(latency=latency, seed=1, max_in_flight=args.cap, retry_after=1)
        a = b = None
        if args.only != "b":
            a = median_run(args.runs, lambda i: scenario(work, f"a{i}", n, images, base, args.jobs))
        if args.only != "a":
            b = median_run(
                args.runs, lambda i: scenario(work, f"b{i}", n, images, capped, args.cap_jobs)
            )
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            out = args.profile / "build_a.prof"
            scenario(work, "a-profiled", n, images, base, args.jobs, profile=out)
            print(f"  profile of run (a): {out}", file=sys.stderr)

    renders = sum(r[3] for r in (a, b) if r is not None)
    print(f"{n} x 1K assets, emulator latency {latency:g}s (renders during runs: {renders})")
    if a is not None:
        wall_a, _, stats_a, _ = a
        ideal_a = math.ceil(n / args.jobs) * latency
        print(
            f"(a) --jobs {args.jobs}: wall {wall_a:.2f}s vs ideal {ideal_a:.0f}s"
            f" = {wall_a / ideal_a:.3f}x  (target <= 1.15x);"
            f" polls {stats_a['polls'] / n:.2f}/asset"
        )
    if b is not None:
        wall_b, _, stats_b, _ = b
        share = n / wall_b / (args.cap / latency)
        print(
            f"(b) cap {args.cap} in flight, --jobs {args.cap_jobs}: {n / wall_b:.2f} tasks/s"
            f" in {wall_b:.2f}s = {share:.3f} of ideal {args.cap / latency:g}/s"
            f"  (target >= 0.85); 429s {stats_b['rate_limited'] / n:.3f}/asset"
            f" ({stats_b['rate_limited']}), polls {stats_b['polls'] / n:.2f}/asset"
        )
    runs = [(k, r) for k, r in (("a", a), ("b", b)) if r is not None]
    cpu = "; ".join(f"{r[1] / n * 1000:.2f} ms/asset in ({k})" for k, r in runs)
    print(f"(c) client CPU (user+sys of assetgen): {cpu}  (target <= 10 ms)")
    emu_cpu = "; ".join(f"{r[2]['emulator_cpu'] / n * 1000:.2f} ms/asset in ({k})" for k, r in runs)
    print(f"    for scale, the emulator's own CPU (this process): {emu_cpu}")


if __name__ == "__main__":
    main()
