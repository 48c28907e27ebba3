"""devhost as a Durable Task Scheduler: a ``devhost scheduler`` process per module, a task hub per test.

Each test talks to devhost with the real ``durabletask`` worker and client over gRPC, on a task hub of its own, so
that work one test leaves behind never reaches another test's worker.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from durabletask.client import TaskHubGrpcClient
from durabletask.grpc_options import GrpcWorkerResiliencyOptions
from durabletask.worker import TaskHubGrpcWorker

from tests.fixtures.processes import Scheduler


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scheduler]:
    server = Scheduler(tmp_path_factory.mktemp("scheduler") / "data").start()
    yield server
    server.stop()


@pytest.fixture
def crashing(tmp_path: Path) -> Iterator[Scheduler]:
    """A scheduler of the test's own, for a test that kills it."""
    server = Scheduler(tmp_path / "data").start()
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
