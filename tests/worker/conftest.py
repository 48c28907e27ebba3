"""The example app on a self-hosted Durable Task worker: ``devhost scheduler`` as the scheduler, the worker in a
process of its own (``python -m durable_agents.worker --app agent_app.worker:worker``), the scripted model behind it.

The worker reaches the scheduler through a Durable Task Scheduler connection string (``Authentication=None``), or
a plain address and hub on its command line, and serves the HTTP API on a port of its own. The test process talks
to it over that API, and through ``AgentWorker.client()`` of an ``AgentWorker`` built here from the same
definitions (never started: the worker process carries the runs out); both share the embedded stream store's file.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agent_app.agents import AGENTS
from agent_app.workflows import WORKFLOWS
from durable_agents import AgentWorker
from tests.fixtures.agent_app import app_env, model, start_app
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Scheduler, WorkerProcess

__all__ = ["model", "start_app"]


@dataclass
class Deployment:
    """A task hub on the scheduler with its worker process and the settings both sides read."""

    scheduler: Scheduler
    hub: str
    env: dict[str, str]
    data_dir: Path

    @property
    def connection_string(self) -> str:
        return f"Endpoint=http://localhost:{self.scheduler.port};Authentication=None;TaskHub={self.hub}"

    def worker(self, plain: bool = False) -> WorkerProcess:
        """The worker process: by the connection string in its settings, or ``plain`` by the command line's
        ``--host-address`` and ``--taskhub`` (a ``TaskHubGrpcWorker`` with the hub as gRPC metadata)."""
        if plain:
            return WorkerProcess(self.env, self.data_dir,
                                 ["--host-address", self.scheduler.address, "--taskhub", self.hub])
        env = {**self.env, "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": self.connection_string}
        return WorkerProcess(env, self.data_dir)


# One scheduler, model server and worker for the folder: starting processes is most of its time.
@pytest.fixture(scope="package")
def model_server() -> Iterator[ModelServer]:
    server = ModelServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scheduler]:
    server = Scheduler(tmp_path_factory.mktemp("scheduler") / "data").start()
    yield server
    server.stop()


def deploy(scheduler: Scheduler, server: ModelServer, tmp: Path) -> Iterator[Deployment]:
    """A hub of its own, with the app's settings also in this process (the in-process client reads them)."""
    env = app_env(server, tmp, APPROVAL_TIMEOUT_SECONDS="30")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield Deployment(scheduler, "hub" + uuid.uuid4().hex[:12], env, tmp)


@pytest.fixture(scope="package")
def deployment(scheduler: Scheduler, model_server: ModelServer,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from deploy(scheduler, model_server, tmp_path_factory.mktemp("deployment"))


@pytest.fixture(scope="package")
def worker(deployment: Deployment) -> Iterator[WorkerProcess]:
    process = deployment.worker().start()
    yield process
    process.stop()


@pytest.fixture
def api(worker: WorkerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{worker.url}/api", timeout=60) as client:
        yield client


@pytest.fixture(scope="package")
def agents(deployment: Deployment, worker: WorkerProcess) -> Iterator[AgentWorker]:
    """The same definitions in this process, never started: ``agents.client()`` talks over gRPC to the hub that
    ``worker`` works for."""
    here = AgentWorker(agents=AGENTS, workflows=WORKFLOWS, connection_string=deployment.connection_string)
    yield here
    here.stop()
