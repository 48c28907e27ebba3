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
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.processes import REPO, Devhost, HostProcess, Scheduler, free_port  # noqa: E402

HOSTS = ("functions", "worker")
WEBHOOKS = "/runtime/webhooks/durabletask"
# The hub a worker started with --taskhub works on; the scheduler's management API reads it when a call names none.
SCHEDULER_HUB = "default"


@dataclass
class WorkerProcess(HostProcess):
    """One ``python -m durable_agents.worker`` process for ``app`` (MODULE:NAME), its HTTP API on ``port``.

    The same process as tests/worker/conftest.py's, which cannot be imported from here (a conftest, with fixtures).
    """

    app: str
    host_address: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    name = "worker"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "durable_agents.worker", "--app", self.app, "--http-port", str(self.port),
                "--host-address", self.host_address, "--taskhub", SCHEDULER_HUB]

    def is_ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


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
        worker = WorkerProcess(worker_app, scheduler.address, data_dir / "worker", env).start()
    except BaseException:
        scheduler.stop()
        raise
    return Hosted(kind, worker.url, scheduler.url, [scheduler, worker])
