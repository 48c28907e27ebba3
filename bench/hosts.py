"""The two ways the benchmarks host an app, started as real processes and ended by their own pids.

``functions``: devhost serving a Functions app (``function_app.py`` in ``app_dir``); its HTTP API and the Durable
management API on one port.

``worker``: ``devhost scheduler`` (the Durable Task sidecar gRPC protocol, as the Durable Task Scheduler emulator)
with ``python -m durable_agents.worker --app MODULE:NAME`` connected to it by ``--host-address`` and
``--taskhub default``; the worker serves the app's HTTP API on a port of its own, the scheduler the Durable
management API on its ``--http-port``.

Both answer the same requests, so a benchmark talks to ``Hosted.api`` (below ``/api``) and ``Hosted.management``
(below ``/runtime/webhooks/durabletask``) without knowing which it has.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.processes import REPO, Devhost, HostProcess, Scheduler, WorkerProcess  # noqa: E402

HOSTS = ("functions", "worker")
WEBHOOKS = "/runtime/webhooks/durabletask"
# The hub a worker started with --taskhub works on; the scheduler's management API reads it when a call names none.
SCHEDULER_HUB = "default"


@dataclass
class Hosted:
    """A started host: where its HTTP API and its Durable management API answer, and its processes."""

    kind: str
    api: str
    management: str
    processes: list[HostProcess]

    def stop(self) -> None:
        # The worker before its scheduler: a worker whose scheduler went away first retries its connection.
        for process in reversed(self.processes):
            process.stop()

    def cpu_seconds(self) -> float:
        """User + system CPU time the host's processes (all their threads) have used so far (Linux /proc)."""
        total = 0.0
        for process in self.processes:
            assert process.process is not None
            stat = Path(f"/proc/{process.process.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": fields 14 and 15 are utime and stime
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


def start_host(kind: str, data_dir: Path, env: dict[str, str], app_dir: Path = REPO,
               worker_app: str = "agent_app.worker:worker") -> Hosted:
    """``kind`` is ``functions`` (devhost serving ``app_dir``) or ``worker`` (scheduler + ``worker_app``)."""
    if kind == "functions":
        host = Devhost(app_dir=app_dir, data_dir=data_dir / "devhost", env=env).start()
        return Hosted(kind, host.url, host.url, [host])
    if kind not in HOSTS:
        raise ValueError(f"unknown host {kind!r}; known: {HOSTS}")
    scheduler = Scheduler(data_dir / "scheduler").start()
    try:
        where = ["--host-address", scheduler.address, "--taskhub", SCHEDULER_HUB]
        worker = WorkerProcess(env, data_dir / "worker", where, app=worker_app).start()
    except BaseException:
        scheduler.stop()
        raise
    return Hosted(kind, worker.url, scheduler.url, [scheduler, worker])
