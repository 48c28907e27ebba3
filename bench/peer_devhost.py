"""devhost as a bench-peers peer: the W1/W2/W3 workloads driven over devhost's Durable HTTP API.

Each workflow is started with ``POST /runtime/webhooks/durabletask/orchestrators/{name}?timeout=60``, which
answers with the output once the orchestration has finished. devhost commits every step (SQLite, WAL,
synchronous=FULL) before the next one starts.

    python bench/peer_devhost.py --workload W1 --n 300 --concurrency 16 --workdir /tmp/x --json
    ../shared/bench-peers/run --extra-peer devhost="$PWD/.venv/bin/python $PWD/bench/peer_devhost.py"
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO.parent / "shared" / "bench-peers"))

import bench_common as bc  # noqa: E402

from tests.fixtures.processes import Devhost  # noqa: E402

PEER = "devhost"


async def start(client: httpx.AsyncClient, name: str, payload: object) -> object:
    response = await client.post(f"/orchestrators/{name}", params={"timeout": 60}, json=payload)
    if response.status_code != 200:
        raise AssertionError(f"{name} did not finish: {response.status_code} {response.text[:200]}")
    return response.json()


async def run_w1(a, client: httpx.AsyncClient) -> tuple[dict, dict]:
    gate = asyncio.Semaphore(a.concurrency)

    async def one(k: int) -> float:
        async with gate:
            inp = f"wf{k}"
            t0 = bc.now()
            result = await start(client, "chain", {"input": inp, "steps": a.steps})
            if result != bc.expected_chain(inp, a.steps):
                raise AssertionError(f"bad result {result!r}")
            return bc.now() - t0

    await asyncio.gather(*(one(k) for k in range(-a.warmup, 0)))
    t0 = bc.now()
    latencies = await asyncio.gather(*(one(k) for k in range(a.n)))
    return bc.w1_metrics(bc.now() - t0, latencies, a.n)


async def run_w2(a, client: httpx.AsyncClient) -> tuple[dict, dict]:
    walls = []
    for k in range(a.warmup + a.repeats):
        t0 = bc.now()
        total = await start(client, "fanout", a.n)
        if total != sum(range(a.n)):
            raise AssertionError(f"bad sum {total}")
        if k >= a.warmup:
            walls.append(bc.now() - t0)
    return bc.w2_metrics(walls)


async def run_w3(a, client: httpx.AsyncClient) -> tuple[dict, dict]:
    walls = []
    for k in range(-a.warmup, a.n):
        inp = f"seq{k}"
        t0 = bc.now()
        if await start(client, "sequential", {"input": inp, "steps": a.steps}) != inp:
            raise AssertionError("bad result")
        if k >= 0:
            walls.append(bc.now() - t0)
    return bc.w3_metrics(walls, a.steps)


def journal_mode(db: Path) -> str:
    """Read back from the file devhost used (WAL is a property of the file; synchronous is per connection)."""
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]


def drive(a, management: str) -> tuple[dict, dict]:
    """Run ``a.workload`` against the Durable management API at ``management`` (an origin); its metrics."""
    async def run() -> tuple[dict, dict]:
        limits = httpx.Limits(max_connections=a.concurrency or 16)
        async with httpx.AsyncClient(base_url=f"{management}/runtime/webhooks/durabletask", timeout=120,
                                     limits=limits) as client:
            return await {"W1": run_w1, "W2": run_w2, "W3": run_w3}[a.workload](a, client)

    return asyncio.run(run())


def main() -> None:
    a = bc.parse_args(PEER)
    workdir = Path(a.workdir or tempfile.mkdtemp())
    host = Devhost(app_dir=REPO / "bench" / "app", data_dir=workdir / "devhost-data").start()
    try:
        metrics, units = drive(a, host.url)
    finally:
        host.stop()
    settings = {"journal_mode": journal_mode(workdir / "devhost-data" / "durable.sqlite3"), "synchronous": "FULL",
                "durability": "every step committed before the work it enables starts",
                "transactions": "one per engine turn",
                "driver": "HTTP: POST orchestrators/{name}?timeout=60 (waits for the output)"}
    bc.emit(a, PEER, metrics, units, bc.versions("azure-functions", "azure-functions-durable"), settings)


if __name__ == "__main__":
    main()
