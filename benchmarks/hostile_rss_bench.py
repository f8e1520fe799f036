"""Peak RSS of `assetgen build --jobs 16` when every result is a 9400x9400 JPEG.

A small gateway runs in this process on 127.0.0.1 (submit, poll, download: just
enough of the EvoLink contract); every task's result is the same JPEG, about a
megabyte or two on the wire and 265 MB once decoded. The build (16 assets of
1024x1024, all at once) runs as a child process, which reports its own peak RSS
(``VmHWM`` in /proc/self/status) at exit: the server's memory is not counted. Decoding each image before
checking its size would need 16 x 265 MB; the target is under 200 MB. Prints
figures only, asserts nothing.

    python benchmarks/hostile_rss_bench.py                   # 9400x9400 results
    python benchmarks/hostile_rss_bench.py --pixels 1024     # well-behaved results, for reference
    python benchmarks/hostile_rss_bench.py --tree /path/to/other/checkout   # another assetgen
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

ASSETS = 16


def make_jpeg(pixels: int) -> bytes:
    """A real ``pixels`` x ``pixels`` JPEG (a gradient: small on the wire, huge decoded)."""
    im = Image.linear_gradient("L").resize((pixels, pixels)).convert("RGB")
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


def serve(image: bytes) -> tuple[ThreadingHTTPServer, str]:
    ids = itertools.count(1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            tid = f"task-unified-1767225600-{next(ids):08d}"
            body = {
                "id": tid,
                "status": "pending",
                "usage": {"credits_reserved": 0.45},
                "task_info": {"estimated_time": 0},
            }
            self._send(200, json.dumps(body).encode())

        def do_GET(self) -> None:
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if self.path.startswith("/v1/tasks/"):
                tid = self.path.rsplit("/", 1)[1]
                body = {
                    "id": tid,
                    "status": "completed",
                    "progress": 100,
                    "results": [f"{base}/files/{tid}.jpg"],
                }
                self._send(200, json.dumps(body).encode())
            elif self.path.startswith("/files/"):
                self._send(200, image, "image/jpeg")
            else:
                self._send(404, b'{"error": {"code": "not_found", "message": "no route"}}')

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def write_project(root: Path) -> None:
    topics = ", ".join(f"t{i:02d}" for i in range(ASSETS))
    (root / "assetgen.yaml").write_text(
        "version: 1\nprovider: evolink\nassets:\n"
        "  icon-${topic}:\n"
        f"    matrix: {{topic: [{topics}]}}\n"
        '    prompt: "a flat icon for ${topic}"\n',
        encoding="utf-8",
    )


def measure(root: Path, base_url: str, tree: str | None) -> tuple[int, float, float, str]:
    """(exit code, wall seconds, peak RSS in MB, last output line) of one build."""
    env = {
        **os.environ,
        "EVOLINK_API_KEY": "sk-evo-benchmark-local",
        "EVOLINK_BASE_URL": base_url,
        "ASSETGEN_EVOLINK_POLL_INTERVAL": "0.05",
        "ASSETGEN_EVOLINK_FIRST_POLL_MAX": "0.05",
        "ASSETGEN_EVOLINK_HTTP_RETRIES": "0",  # one download per asset: the figure is per image
        "ASSETGEN_EVOLINK_TASK_RETRIES": "0",
        "NO_COLOR": "1",
    }
    if tree:
        env["PYTHONPATH"] = tree
    cmd = [sys.executable, "-c", _CHILD, "-C", str(root), "build", "--jobs", str(ASSETS)]
    start = time.perf_counter()
    # cwd: the project, so that `-c` does not put this checkout ahead of --tree on sys.path
    proc = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    peak = [line for line in proc.stderr.splitlines() if line.startswith("VmHWM")]
    rss = int(peak[-1].split()[1]) / 1024 if peak else float("nan")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, wall, rss, lines[-1] if lines else proc.stderr[-300:]


# The build reports its own peak from /proc/self/status at exit. Not ru_maxrss: on
# Linux a child's starts from this process's size at fork (it holds a decoded image).
_CHILD = """
import atexit, runpy, sys
def peak():
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith("VmHWM"))
    sys.stderr.write("\\n" + " ".join(line.split()) + "\\n")
atexit.register(peak)
sys.argv = ["assetgen", *sys.argv[1:]]
runpy.run_module("assetgen", run_name="__main__")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, default=9400, help="result width = height")
    parser.add_argument("--tree", help="run the assetgen found in this directory instead")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    image = make_jpeg(args.pixels)
    server, base_url = serve(image)
    print(f"results: {args.pixels}x{args.pixels} JPEG, {len(image) / 1e6:.2f} MB on the wire")
    print(f"build: {ASSETS} assets of 1024x1024, --jobs {ASSETS}, tree {args.tree or '(this one)'}")
    try:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="assetgen-rss-") as tmp:
                write_project(Path(tmp))
                code, wall, rss, last = measure(Path(tmp), base_url, args.tree)
            print(f"run {run + 1}: exit {code}, {wall:.1f} s, peak RSS {rss:.0f} MB  | {last}")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
