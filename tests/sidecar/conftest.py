"""devhost as a Durable Task Scheduler: a ``devhost scheduler`` process per module, a task hub per test.

Each test talks to devhost with the real ``durabletask`` worker and client over gRPC, on a task hub of its own, so
that work one test leaves behind never reaches another test's worker.
"""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from durabletask.client import TaskHubGrpcClient
from durabletask.grpc_options import GrpcWorkerResiliencyOptions
from durabletask.worker import TaskHubGrpcWorker

from tests.fixtures.processes import REPO, free_port


@dataclass
class Scheduler:
    """One ``devhost scheduler`` process: gRPC on ``port``, dashboard and management API on ``http_port``."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 30.0) -> Scheduler:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"scheduler-{int(time.time() * 1000)}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devhost", "scheduler", "--port", str(self.port),
                 "--http-port", str(self.http_port), "--data-dir", str(self.data_dir)],
                cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"devhost scheduler exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/admin/host/status", timeout=1).json().get("state") == "Running":
                    return self
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"devhost scheduler did not start within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def kill(self) -> None:
        """kill -9: no chance to finish anything."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scheduler]:
    server = Scheduler(tmp_path_factory.mktemp("scheduler") / "data").start()
    yield server
    server.stop()


@pytest.fixture
def hub() -> str:
    return "hub" + uuid.uuid4().hex[:12]


def new_worker(scheduler: Scheduler, hub: str, *functions: Callable[..., Any],
               entities: tuple[Any, ...] = ()) -> TaskHubGrpcWorker:
    """A worker on ``hub`` with ``functions`` registered: orchestrators (their first parameter is an
    ``OrchestrationContext``) and activities."""
    worker = TaskHubGrpcWorker(
        host_address=scheduler.address, metadata=[("taskhub", hub)],
        # Reconnects quickly after devhost restarts (the SDK backs off up to 30 s by default).
        resiliency_options=GrpcWorkerResiliencyOptions(reconnect_backoff_cap_seconds=1.0))
    for fn in functions:
        first = next(iter(inspect.signature(fn).parameters.values()))
        if "OrchestrationContext" in str(first.annotation):
            worker.add_orchestrator(fn)
        else:
            worker.add_activity(fn)
    for entity in entities:
        worker.add_entity(entity)
    return worker


@contextmanager
def running(scheduler: Scheduler, hub: str, *functions: Callable[..., Any],
            entities: tuple[Any, ...] = ()) -> Iterator[TaskHubGrpcWorker]:
    worker = new_worker(scheduler, hub, *functions, entities=entities)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def client(scheduler: Scheduler, hub: str) -> Iterator[TaskHubGrpcClient]:
    with TaskHubGrpcClient(host_address=scheduler.address, metadata=[("taskhub", hub)]) as c:
        yield c
