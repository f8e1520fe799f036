"""A fresh clone's build from a distant HTTP remote cache: restores one by one vs prefetched.

Figures, no asserts. Clone A builds N draft assets and pushes them to a local nginx
remote (tests/servers.py). Clone B (the manifest and the lock only) builds against
that remote through a TCP relay on 127.0.0.1 that holds every chunk ``--rtt``/2 ms
in each direction, standing for a cache across a network. B builds twice, each
time from scratch: as before the prefetch existed (the build staged each restore's
image one by one, then fetched the records ``--jobs`` at a time) and as now
(``TieredCache.prefetch``: the images of every restore fetched at once, pipelined,
with records made from the lock, before the build restores them from the local
cache). Each build must restore all N, paying nothing.

    python benchmarks/remote_restore_bench.py [--assets 300] [--rtt 20]
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the same nginx launcher as the tests

from servers import nginx_binary, nginx_server  # noqa: E402


class Relay:
    """Forwards 127.0.0.1:port to ``target``, each chunk held ``delay`` s each way."""

    def __init__(self, target: tuple[str, int], delay: float) -> None:
        self.target, self.delay = target, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                held: queue.Queue[tuple[float, bytes]] = queue.Queue()
                threading.Thread(target=self._read, args=(a, held), daemon=True).start()
                threading.Thread(target=self._write, args=(b, held), daemon=True).start()

    @staticmethod
    def _read(source: socket.socket, held: queue.Queue[tuple[float, bytes]]) -> None:
        try:
            while chunk := source.recv(262144):
                held.put((time.monotonic(), chunk))
        except OSError:
            pass
        held.put((time.monotonic(), b""))

    def _write(self, sink: socket.socket, held: queue.Queue[tuple[float, bytes]]) -> None:
        while True:
            at, chunk = held.get()
            time.sleep(max(0.0, at + self.delay - time.monotonic()))
            try:
                if not chunk:
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(chunk)
            except OSError:
                return


# B's build, in a child process; "before" turns the prefetch off, as it was before it.
BUILD = """
import sys
from assetgen.cache.tiered import TieredCache
if sys.argv[2] == "before":
    TieredCache.prefetch = lambda self, entries: None
from assetgen.cli import main
sys.exit(main(["-C", sys.argv[1], "build", "--provider", "draft", "--max-credits", "0"]))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=300)
    parser.add_argument("--rtt", type=float, default=20.0, help="ms, round trip")
    args = parser.parse_args()
    if nginx_binary() is None:
        print("needs nginx (apt-get install nginx)")
        return 2
    with tempfile.TemporaryDirectory(prefix="assetgen-restore-bench-") as tmp:
        base = Path(tmp)
        a = base / "a"
        a.mkdir()
        topics = ", ".join(f"t{i:04d}" for i in range(args.assets))
        (a / "assetgen.yaml").write_text(
            "version: 1\nprovider: draft\ndefaults: {quality: 1K}\nassets:\n"
            f"  icon-${{topic}}:\n    matrix: {{topic: [{topics}]}}\n"
            '    prompt: "a flat icon for ${topic}"\n',
            encoding="utf-8",
        )
        with nginx_server(base / "nginx") as nginx:
            env = {**os.environ, "ASSETGEN_REMOTE_CACHE": nginx.url}
            build_a = [sys.executable, "-m", "assetgen", "-C", str(a), "build"]
            subprocess.run(build_a, env=env, check=True, capture_output=True)
            relay = Relay(("127.0.0.1", nginx.port), args.rtt / 2000)
            far = nginx.url.replace(f":{nginx.port}/", f":{relay.port}/")
            print(f"{args.assets} assets pushed; B reaches the remote {args.rtt:g} ms away")
            for how in ("before", "now"):
                b = base / f"b-{how}"
                b.mkdir()
                for name in ("assetgen.yaml", "assetgen.lock"):
                    shutil.copy2(a / name, b / name)
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", BUILD, str(b), how],
                    env={**os.environ, "ASSETGEN_REMOTE_CACHE": far},
                    capture_output=True,
                    text=True,
                )
                seconds = time.perf_counter() - started
                last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
                label = "restores one by one" if how == "before" else "prefetched (now)"
                print(f"{label:>22}: {seconds:6.2f}s  exit {done.returncode}  {last}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
