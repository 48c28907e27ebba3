"""Slow user code beside the engine: N entity operations that each sleep S seconds, on N entities, at once.

Signals every operation over the management API, then polls until each entity has applied it, while timing
``/admin/host/status`` (and the management API's list) from a second client every 20 ms. With user code off the
engine the batch takes about S × ceil(N / threads) (``--threads`` sets ``PYTHON_THREADPOOL_THREAD_COUNT``) and the
host answers throughout; figures, not assertions.

    python bench/slow_entities.py [--n 50] [--seconds 1] [--threads 32,64]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.processes import Devhost  # noqa: E402


def probe(url: str, stop: threading.Event, samples: list[float]) -> None:
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - t0) * 1000)
            stop.wait(0.02)


def run(n: int, seconds: float, threads: int) -> dict[str, float]:
    data = Path(tempfile.mkdtemp()) / "data"
    host = Devhost(app_dir=REPO / "bench" / "app", data_dir=data,
                   env={"PYTHON_THREADPOOL_THREAD_COUNT": str(threads)}).start()
    api = f"{host.url}/runtime/webhooks/durabletask"
    try:
        stop, health, listing = threading.Event(), [], []
        probes = [threading.Thread(target=probe, args=(f"{host.url}/admin/host/status", stop, health)),
                  threading.Thread(target=probe, args=(f"{api}/instances?top=50", stop, listing))]
        with httpx.Client(base_url=api, timeout=30) as client:
            for p in probes:
                p.start()
            t0 = time.perf_counter()
            for k in range(n):
                client.post(f"/entities/Sleeper/s{k}?op=sleep", json=seconds).raise_for_status()
            pending = set(range(n))
            while pending:
                pending = {k for k in pending if client.get(f"/entities/Sleeper/s{k}").status_code != 200}
                time.sleep(0.02)
            wall = time.perf_counter() - t0
        stop.set()
        for p in probes:
            p.join()
    finally:
        host.stop()
    return {"wall_s": wall, "health_p50_ms": statistics.median(health), "health_max_ms": max(health),
            "list_p50_ms": statistics.median(listing), "list_max_ms": max(listing), "probes": len(health)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--threads", default="32,64", help="thread pool sizes to run with, comma-separated")
    a = parser.parse_args()
    print(f"{a.n} entity operations of {a.seconds} s each, on {a.n} entities, signalled at once")
    print(f"{'threads':>8} {'all done (s)':>13} {'health p50/max (ms)':>20} {'list p50/max (ms)':>18}")
    for threads in (int(t) for t in a.threads.split(",")):
        r = run(a.n, a.seconds, threads)
        print(f"{threads:>8} {r['wall_s']:>13.2f} {r['health_p50_ms']:>9.1f} / {r['health_max_ms']:<8.1f}"
              f" {r['list_p50_ms']:>7.1f} / {r['list_max_ms']:<8.1f}")


if __name__ == "__main__":
    main()
