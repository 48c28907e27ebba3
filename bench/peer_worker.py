"""The self-hosted worker path as a bench-peers peer: the W1/W2/W3 workloads on ``durable_agents.AgentWorker``.

The workloads are the functions devhost runs for ``peer_devhost.py`` (``bench/app/workloads.py``, one blueprint),
here registered on an ``AgentWorker`` (``bench/app/worker.py``) in a ``python -m durable_agents.worker`` process
that connects over gRPC to ``devhost scheduler`` (the Durable Task Scheduler emulator's role). The driver is
``peer_devhost.py``'s: ``POST /runtime/webhooks/durabletask/orchestrators/{name}?timeout=60`` on the scheduler's
management API, which answers with the output once the orchestration has finished. So beside ``devhost`` the
difference is the execution path alone: every orchestration episode and activity is a gRPC work item sent to the
worker process and completed back, instead of running inside devhost. The scheduler commits every step (SQLite,
WAL, synchronous=FULL) before the work it enables starts, as devhost does.

    python bench/peer_worker.py --workload W1 --n 300 --concurrency 16 --workdir /tmp/x --json
    ../shared/bench-peers/run --extra-peer devhost="$PWD/.venv/bin/python $PWD/bench/peer_devhost.py" \\
        --extra-peer worker="$PWD/.venv/bin/python $PWD/bench/peer_worker.py" --baseline devhost
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO.parent / "shared" / "bench-peers"))

import bench_common as bc  # noqa: E402
from hosts import start_host  # noqa: E402
from peer_devhost import drive, journal_mode  # noqa: E402

PEER = "worker"


def main() -> None:
    a = bc.parse_args(PEER)
    workdir = Path(a.workdir or tempfile.mkdtemp())
    # The worker's embedded stream store (opened by its health check) under the run's folder, not in /tmp.
    env = {"STREAM_STORE_PATH": str(workdir / "streams.sqlite3"), "REDIS_URL": ""}
    hosted = start_host("worker", workdir, env, worker_app="bench.app.worker:worker")
    try:
        metrics, units = drive(a, hosted.management)
    finally:
        hosted.stop()
    settings = {"journal_mode": journal_mode(workdir / "scheduler" / "durable.sqlite3"), "synchronous": "FULL",
                "durability": "every step committed by the scheduler before the work it enables starts",
                "transactions": "one per engine turn",
                "execution": "python -m durable_agents.worker (AgentWorker, durabletask TaskHubGrpcWorker) over gRPC "
                             "to devhost scheduler",
                "driver": "HTTP: POST orchestrators/{name}?timeout=60 on the scheduler (waits for the output)"}
    versions = bc.versions("durable-agents", "durabletask", "grpcio", "azure-functions-durable")
    bc.emit(a, PEER, metrics, units, versions, settings)


if __name__ == "__main__":
    main()
