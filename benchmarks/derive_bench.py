"""Derived-output throughput: assetgen's renderer against ImageMagick and libvips.

N 2K masters (2048x2048 and 2688x1472 PNGs, alternating: a gradient with noise, so
the codecs do real work; generated deterministically once and kept in the work
folder) each to the same 4 outputs by every tool:

    1x WebP   half size, quality 80
    2x WebP   full size, quality 80
    1x AVIF   half size, quality 60
    og JPEG   a 1200x630 cover crop (centre), quality 85

All cores: assetgen runs ``render_image`` in a ProcessPoolExecutor, one job per
output (the way a build runs derivations); ImageMagick (``convert``, or ``magick``)
and libvips (``vips``, Debian's libvips-tools) run one process per output, as many
at a time as there are cores (like ``xargs -P $(nproc)``). The tools take turns in
rounds of ``--batch`` masters, so a shared machine's changing load falls on all alike. Every tool reads the
master file and writes its output file, and runs single-threaded inside (AVIF
``max_threads=1``, ``MAGICK_THREAD_LIMIT=1``, ``VIPS_CONCURRENCY=1``): the
parallelism is across outputs for all three. Prints figures; asserts nothing.

    python benchmarks/derive_bench.py [--masters 200] [--quick] [--jobs N] [--batch 10] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assetgen.derive.render import render_image

SIZES = ((2048, 2048), (2688, 1472))
MASTER_VERSION = 1  # bump to regenerate cached masters

RECIPES: list[dict[str, Any]] = [
    {"output": "1x.webp", "format": "webp", "scale": 0.5, "quality": 80},
    {"output": "2x.webp", "format": "webp", "quality": 80},
    {"output": "1x.avif", "format": "avif", "scale": 0.5, "quality": 60},
    {
        "output": "og.jpg",
        "format": "jpeg",
        "width": 1200,
        "height": 630,
        "fit": "cover",
        "focus": "center",
        "quality": 85,
    },
]


def make_master(args: tuple[int, str]) -> str:
    """Master ``i``: a diagonal colour gradient, soft shapes and seeded noise."""
    from PIL import Image, ImageDraw, ImageFilter

    i, path = args
    if os.path.exists(path):
        return path
    w, h = SIZES[i % 2]
    rng = random.Random(i)
    r = Image.linear_gradient("L").resize((w, h))
    g = r.transpose(Image.Transpose.ROTATE_90).resize((w, h))
    b = Image.radial_gradient("L").resize((w, h))
    im = Image.merge("RGB", (r, g, b))
    draw = ImageDraw.Draw(im)
    for _ in range(24):
        x, y = rng.randrange(w), rng.randrange(h)
        rad = rng.randrange(40, 400)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x - rad, y - rad, x + rad, y + rad), fill=colour)
    im = im.filter(ImageFilter.GaussianBlur(6))
    noise = Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3))
    im = Image.blend(im, noise, 0.08)
    tmp = f"{path}.tmp"
    im.save(tmp, "PNG", compress_level=6)
    os.replace(tmp, path)
    return path


def _assetgen_job(job: tuple[str, int, str]) -> tuple[int, float]:
    """(bytes written, CPU seconds of this render in the worker)."""
    master, index, out = job
    t0 = time.process_time()
    with open(master, "rb") as f:
        data = f.read()
    result = render_image(data, RECIPES[index])
    with open(out, "wb") as f:
        f.write(result)
    return len(result), time.process_time() - t0


def _warm(_: int) -> int:
    return os.getpid()


def run_assetgen(pool: ProcessPoolExecutor, masters: list[str], out: Path) -> tuple[int, float]:
    work = [
        (m, k, str(out / f"{Path(m).stem}-{RECIPES[k]['output']}"))
        for m in masters
        for k in range(len(RECIPES))
    ]
    done = list(pool.map(_assetgen_job, work, chunksize=1))
    return sum(b for b, _ in done), sum(c for _, c in done)


def magick_commands(exe: list[str], master: str, out: Path) -> list[tuple[list[str], str]]:
    stem = out / Path(master).stem
    base = [*exe, master, "-strip"]
    webp = ["-quality", "80", "-define", "webp:method=4"]
    crop = ["-resize", "1200x630^", "-gravity", "center", "-extent", "1200x630"]
    files = [f"{stem}-1x.webp", f"{stem}-2x.webp", f"{stem}-1x.avif", f"{stem}-og.jpg"]
    args = [
        ["-resize", "50%", *webp],
        webp,
        ["-resize", "50%", "-quality", "60"],
        [*crop, "-quality", "85"],
    ]
    return [([*base, *a, f], f) for a, f in zip(args, files, strict=True)]


def vips_commands(exe: str, master: str, out: Path) -> list[tuple[list[str], str]]:
    from PIL import Image

    stem = out / Path(master).stem
    with Image.open(master) as im:
        half = str(round(im.size[0] / 2))
    files = [f"{stem}-1x.webp", f"{stem}-2x.webp", f"{stem}-1x.avif", f"{stem}-og.jpg"]
    return [
        ([exe, "thumbnail", master, f"{files[0]}[Q=80,effort=4,strip]", half], files[0]),
        ([exe, "copy", master, f"{files[1]}[Q=80,effort=4,strip]"], files[1]),
        (
            [
                exe,
                "thumbnail",
                master,
                f"{files[2]}[Q=60,compression=av1,bitdepth=8,effort=3,strip]",
                half,
            ],
            files[2],
        ),
        (
            [
                exe,
                "thumbnail",
                master,
                f"{files[3]}[Q=85,strip]",
                "1200",
                "--height",
                "630",
                "--crop",
                "centre",
            ],
            files[3],
        ),
    ]


def run_commands(commands: list[tuple[list[str], str]], jobs: int) -> tuple[int, float]:
    """Run (command, output file) pairs ``jobs`` at a time: (bytes written, CPU seconds)."""
    env = {
        **os.environ,
        "MAGICK_THREAD_LIMIT": "1",
        "VIPS_CONCURRENCY": "1",
        "OMP_NUM_THREADS": "1",
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)

    def one(item: tuple[list[str], str]) -> int:
        cmd, out = item
        proc = subprocess.run(cmd, env=env, capture_output=True)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()[-400:]}")
        return os.path.getsize(out)

    with ThreadPoolExecutor(jobs) as pool:
        written = sum(pool.map(one, commands))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return written, cpu


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--masters", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="8 masters")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch", type=int, default=10, help="masters per round")
    ap.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "assetgen-derive-bench"
    )
    ap.add_argument("--tools", default="assetgen,imagemagick,vips")
    args = ap.parse_args()
    n = 8 if args.quick else args.masters
    tools = args.tools.split(",")
    masters_dir = args.work / f"masters-v{MASTER_VERSION}"
    masters_dir.mkdir(parents=True, exist_ok=True)
    paths = [str(masters_dir / f"m{i:04d}.png") for i in range(n)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        list(pool.map(make_master, list(enumerate(paths))))
    size = sum(os.path.getsize(p) for p in paths)
    print(
        f"{n} masters ({size / n / 1e6:.1f} MB PNG each) ready in {time.perf_counter() - t0:.1f} s; "
        f"{len(RECIPES)} outputs each; {args.jobs} jobs"
    )
    magick = shutil.which("magick")
    convert = "/usr/bin/convert" if os.path.exists("/usr/bin/convert") else shutil.which("convert")
    im_exe = [magick] if magick else ([convert] if convert else None)
    vips = shutil.which("vips")
    if "imagemagick" in tools:
        if im_exe is None:
            print("ImageMagick: not installed (apt-get install imagemagick)")
            tools.remove("imagemagick")
        else:
            version = subprocess.run([*im_exe, "-version"], capture_output=True, text=True)
            print(f"ImageMagick: {version.stdout.splitlines()[0]}")
    if "vips" in tools:
        if vips is None:
            print("libvips: not installed (apt-get install libvips-tools)")
            tools.remove("vips")
        else:
            version = subprocess.run([vips, "--version"], capture_output=True, text=True)
            print(f"libvips: {version.stdout.strip()}")
    outs = {}
    for tool in tools:
        outs[tool] = args.work / f"out-{tool}"
        shutil.rmtree(outs[tool], ignore_errors=True)
        outs[tool].mkdir()
    totals = {tool: [0.0, 0.0, 0.0] for tool in tools}  # wall s, cpu s, bytes
    with ProcessPoolExecutor(args.jobs) as pool:
        list(pool.map(_warm, range(args.jobs)))  # workers started and imported, untimed
        for start in range(0, n, args.batch):
            chunk = paths[start : start + args.batch]
            for tool in tools:
                t0 = time.perf_counter()
                if tool == "assetgen":
                    written, cpu = run_assetgen(pool, chunk, outs[tool])
                else:
                    if tool == "imagemagick":
                        assert im_exe is not None
                        cmds = [c for p in chunk for c in magick_commands(im_exe, p, outs[tool])]
                    else:
                        assert vips is not None
                        cmds = [c for p in chunk for c in vips_commands(vips, p, outs[tool])]
                    written, cpu = run_commands(cmds, args.jobs)
                total = totals[tool]
                total[0] += time.perf_counter() - t0
                total[1] += cpu
                total[2] += written
            print(
                f"  {start + len(chunk)}/{n} masters: "
                + ", ".join(f"{t} {totals[t][0]:.0f} s ({totals[t][1]:.0f} s CPU)" for t in tools),
                flush=True,
            )
    outputs = n * len(RECIPES)
    print(
        f"\n{'tool':<12} {'wall s':>8} {'cpu s':>8} {'images/s':>9} {'outputs/s':>10} "
        f"{'cpu ms/output':>14} {'MB out':>8}"
    )
    for tool, (wall, cpu, written) in totals.items():
        print(
            f"{tool:<12} {wall:8.1f} {cpu:8.1f} {n / wall:9.2f} {outputs / wall:10.2f} "
            f"{cpu / outputs * 1000:14.0f} {written / 1e6:8.1f}"
        )
    if "assetgen" in totals:
        ours = totals["assetgen"]
        for tool, theirs in totals.items():
            if tool != "assetgen":
                print(
                    f"assetgen vs {tool}: throughput {theirs[0] / ours[0]:.2f}x theirs, "
                    f"CPU per output {ours[1] / theirs[1]:.2f}x theirs"
                )


if __name__ == "__main__":
    main()
