"""Start-up time and idle memory of `workbench serve`.

Label Studio 1.23 on this machine: starts in 46 s, idles at 336 MB.

Starts `workbench serve` on a fresh instance (first run: creates the SQLite
database), times until GET /login answers 200, waits, then reads the resident
memory of the server process from /proc.  Run:

    .venv/bin/python benchmarks/bench_startup.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.testing import free_port  # noqa: E402

WORKBENCH = Path(sys.executable).with_name("workbench")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def one_start(fresh: bool, instance: Path) -> tuple[float, float]:
    port = free_port()
    env = {**os.environ, "WORKBENCH_INSTANCE": str(instance)}
    if fresh and instance.exists():
        for p in instance.iterdir():
            p.unlink()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(WORKBENCH), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = t0 + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.perf_counter() > deadline:
                    raise RuntimeError("server did not start in 60 s") from None
                time.sleep(0.02)
        started = time.perf_counter() - t0
        time.sleep(3)
        return started, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        cold = one_start(True, instance)
        warm = [one_start(False, instance) for _ in range(5)]
    result = {
        "first_start_s (creates the database)": round(cold[0], 3),
        "start_s_median": round(statistics.median(w[0] for w in warm), 3),
        "idle_rss_mb_median": round(statistics.median(w[1] for w in warm), 1),
        "label_studio": {"start_s": 46, "idle_rss_mb": 336},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
