"""Whole-process `assetgen plan` on large projects: null, and with 1% of prompts edited.

For each size it writes a project (manifest, a matching lock, and a small file per
output, dated an hour back so the stat cache may trust them), runs one warm-up plan,
then reports the median wall time and the peak RSS of fresh `assetgen plan`
processes. Each edited run edits a different 1% of prompts, so every one of them
sees a manifest it has never seen (the realistic "I changed some prompts" case).

    python benchmarks/plan_bench.py                 # 1,000 / 10,000 / 100,000 assets
    python benchmarks/plan_bench.py --sizes 1000 10000 --runs 7
    python benchmarks/plan_bench.py --derive        # 10,000 assets with 3 derived files each
                                                    # vs without; one recipe edited in 1,000

Targets on 2 cores: null 10k <= 0.3 s, null 100k <= 3 s, peak RSS 100k <= 300 MB,
1%-edited within 1.2x of null; with 3 derived files per asset, null within 1.5x of
the same manifest without `derive`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assetgen.catalog import MODELS
from assetgen.derive.recipe import canonical_json, canonical_recipe, recipe_hash_json
from assetgen.lock.model import DerivedEntry, LockEntry, Lockfile, format_lock
from assetgen.spec import derive_seed, spec_hash

SIZES = ("1:1", "16:9", "4:3", "3:2", "9:16")
MODEL = MODELS["krea-2-turbo"]


def prompt(i: int, variant: int = 0) -> str:
    tail = f" (revision {variant})" if variant else ""
    return f"flat vector illustration, navy and sky-blue palette, item number {i} on a plain background{tail}"


# The derived files of the --derive case: three recipes in a project preset.
RECIPES = (
    {"output": "d/${name}@1x.webp", "scale": 0.5},
    {"output": "d/${name}@2x.webp"},
    {"output": "d/${name}.avif", "scale": 0.5, "quality": 60},
)


def _flow(recipe: dict[str, object]) -> str:
    return (
        "{"
        + ", ".join(f'{k}: "{v}"' if isinstance(v, str) else f"{k}: {v}" for k, v in recipe.items())
        + "}"
    )


def write_project(root: Path, n: int, derived: bool = False) -> None:
    root.mkdir(parents=True)
    lines = [
        "version: 1",
        "provider: evolink",
        "output_dir: assets",
        "defaults:",
        "  quality: 1K",
    ]
    if derived:
        lines += ["  derive: [{preset: web}]", "presets:", "  web:"]
        lines += [f"    - {_flow(r)}" for r in RECIPES]
    lines += ["assets:"]
    entries: dict[str, LockEntry] = {}
    old = time.time() - 3600
    for i in range(n):
        name = f"asset-{i:06d}"
        size = SIZES[i % len(SIZES)]
        rel = f"g{i // 1000:03d}/{name}.png"
        lines += [
            f"  {name}:",
            f'    prompt: "{prompt(i)}"',
            f'    size: "{size}"',
            f"    output: {rel}",
        ]
        seed = derive_seed(name, MODEL.seed_min, MODEL.seed_max)
        request = {
            "provider": "evolink",
            "model": MODEL.name,
            "prompt": prompt(i),
            "size": size,
            "quality": "1K",
            "seed": seed,
            "nsfw_check": False,
        }
        data = f"stand-in image bytes for {name}\n".encode()
        path = root / "assets" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (old, old))
        w, h = MODEL.pixels[size]["1K"]
        files = []
        for r in RECIPES if derived else ():
            out = str(r["output"]).replace("${name}", name)
            canon = canonical_json(canonical_recipe({**r, "output": out}, out))
            body = f"derived {out}\n".encode()
            (root / "assets" / out).parent.mkdir(parents=True, exist_ok=True)
            (root / "assets" / out).write_bytes(body)
            os.utime(root / "assets" / out, (old, old))
            k = float(r.get("scale", 1.0))  # type: ignore[arg-type]
            files.append(
                DerivedEntry(
                    f"assets/{out}", hashlib.sha256(body).hexdigest(), len(body),
                    round(w * k), round(h * k),
                    recipe_hash_json(hashlib.sha256(data).hexdigest(), canon),
                )
            )  # fmt: skip
        entries[name] = LockEntry(
            spec_hash=spec_hash(request),
            request=request,
            path=f"assets/{rel}",
            sha256=hashlib.sha256(data).hexdigest(),
            bytes=len(data),
            width=w,
            height=h,
            format="png",
            task_id=f"task-unified-1767225600-{i:08d}",
            credits=0.45,
            generated_at="2026-11-24T07:00:00Z",
            derived=tuple(files),
        )
    (root / "assetgen.yaml").write_text("\n".join(lines) + "\n")
    (root / "assetgen.lock").write_text(format_lock(Lockfile(entries)))


CPU: list[float] = []  # user + system seconds of each plan process: steadier on a busy machine


def run_plan(root: Path, *extra: str) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in bytes, output) of one `assetgen plan` process."""
    exe = shutil.which("assetgen")
    cmd = [exe] if exe else [sys.executable, "-m", "assetgen"]
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [*cmd, "-C", str(root), "plan", *extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        CPU.append(usage.ru_utime + usage.ru_stime)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"plan failed ({proc.returncode}): {text[-500:]}")
    return wall, usage.ru_maxrss * 1024, text


def edit_prompts(text: str, n: int, run: int) -> str:
    """The manifest with a different 1% of its prompts edited for each ``run``."""
    for i in range(run % 100, n, 100):
        text = text.replace(f'"{prompt(i)}"', f'"{prompt(i, run + 1)}"', 1)
    return text


def bench(n: int, runs: int, work: Path) -> dict[str, float]:
    root = work / f"p{n}"
    # Written by a child process: a forked `assetgen plan` would otherwise count this
    # process's memory (the whole generated lock) in its own peak RSS.
    subprocess.run([sys.executable, __file__, "--write", str(root), str(n)], check=True)
    manifest = root / "assetgen.yaml"
    original = manifest.read_text()
    first, first_rss, out = run_plan(root)  # fills the memos and the stat cache
    if "No changes" not in out:
        raise SystemExit(f"expected a null plan, got: {out[:300]}")
    nulls = [run_plan(root) for _ in range(runs)]
    edited = []
    for r in range(runs):
        manifest.write_text(edit_prompts(original, n, r))
        wall, rss, out = run_plan(root)
        if f"{n // 100} to update" not in out:
            raise SystemExit(f"expected {n // 100} updates, got: {out.splitlines()[-1]}")
        edited.append((wall, rss))
    manifest.write_text(original)
    shutil.rmtree(root)
    return {
        "first_s": first,
        "first_rss": first_rss / 1e6,
        "null_s": statistics.median(w for w, _, _ in nulls),
        "null_rss": max(r for _, r, _ in nulls) / 1e6,
        "edited_s": statistics.median(w for w, _ in edited),
        "edited_rss": max(r for _, r in edited) / 1e6,
    }


def bench_derive(n: int, runs: int, work: Path) -> None:
    """Null plans of ``n`` assets with and without 3 derived files each, alternated run
    by run (a noisy machine then slows both alike); the bare cost of stat'ing the extra
    files; then the count of files one recipe edit re-derives in a 1,000-asset project."""
    roots = {}
    for derived in (False, True):
        roots[derived] = root = work / f"d{n}-{derived}"
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--write",
                str(root),
                str(n),
                *(["--with-derive"] * derived),
            ],
            check=True,
        )
        _, _, out = run_plan(root)
        if "No changes" not in out:
            raise SystemExit(f"expected a null plan, got: {out[:300]}")
        run_plan(root)  # the second plan writes the derived-recipe memo
    walls: dict[bool, list[float]] = {False: [], True: []}
    cpus: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(runs):
        for derived in (False, True):
            CPU.clear()
            walls[derived].append(run_plan(roots[derived])[0])
            cpus[derived].append(CPU[0])
    null = {k: statistics.median(v) for k, v in walls.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    extra = sorted(str(p) for p in (roots[True] / "assets" / "d").iterdir())
    stats = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for p in extra:
            os.stat(p)
        stats.append(time.perf_counter() - t0)
    bare = statistics.median(stats)
    print(
        f"null plan, {n:,} assets: {null[False]:.3f} s without derive, {null[True]:.3f} s with "
        f"3 derived files each ({null[True] / null[False]:.2f}x; target <= 1.5x); CPU "
        f"{cpu[False]:.3f} s and {cpu[True]:.3f} s ({cpu[True] / cpu[False]:.2f}x); medians of "
        f"{runs}, alternated\n  of the extra, {bare:.3f} s is the bare os.stat() of the "
        f"{len(extra):,} derived files ({bare / len(extra) * 1e6:.1f} us each on this machine)"
    )
    for root in roots.values():
        shutil.rmtree(root)
    root = work / "count"
    subprocess.run(
        [sys.executable, __file__, "--write", str(root), "1000", "--with-derive"], check=True
    )
    run_plan(root)
    manifest = root / "assetgen.yaml"
    manifest.write_text(manifest.read_text().replace("quality: 60", "quality: 70"))
    import json

    doc = json.loads(run_plan(root, "--json")[2])
    counts = doc["derived_summary"]
    generations = sum(1 for a in doc["actions"] if a["action"] != "noop")
    print(
        f"one recipe edited (quality 60 -> 70) in 1,000 assets x 3 recipes: {counts['derive']} "
        f"files to re-derive, {counts['noop']} up to date, {generations} masters touched"
    )
    shutil.rmtree(root)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--derive", action="store_true", help="the derived-files cases only")
    ap.add_argument("--write", nargs=2, metavar=("DIR", "N"), help=argparse.SUPPRESS)
    ap.add_argument("--with-derive", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write:
        write_project(Path(args.write[0]), int(args.write[1]), args.with_derive)
        return
    if args.derive:
        with tempfile.TemporaryDirectory(prefix="assetgen-plan-bench-") as tmp:
            bench_derive(10000, args.runs, Path(tmp))
        return
    print(
        f"{'assets':>8} {'first':>8} {'null':>8} {'1% edit':>8} {'ratio':>6} "
        f"{'RSS null':>9} {'RSS edit':>9} {'RSS first':>9}"
    )
    with tempfile.TemporaryDirectory(prefix="assetgen-plan-bench-") as tmp:
        for n in args.sizes:
            r = bench(n, args.runs if n < 100000 else max(3, args.runs // 2), Path(tmp))
            print(
                f"{n:>8,} {r['first_s']:>7.2f}s {r['null_s']:>7.3f}s {r['edited_s']:>7.3f}s "
                f"{r['edited_s'] / r['null_s']:>5.2f}x {r['null_rss']:>6.0f} MB {r['edited_rss']:>6.0f} MB "
                f"{r['first_rss']:>6.0f} MB",
                flush=True,
            )
    print(
        "first: the first plan of a project never seen (parses manifest and lock, hashes outputs); "
        "null, 1% edit: medians; RSS: peak of the largest such process"
    )


if __name__ == "__main__":
    main()
