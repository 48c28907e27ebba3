"""kill -9 of devhost in the middle of an orchestration (the worker reconnects and the orchestration finishes) and
while a scheduled entity signal waits for its time (it arrives then)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from durabletask import client as dt_client
from durabletask import entities, task
from durabletask.entities import EntityInstanceId

from tests.fixtures.processes import Scheduler

from .conftest import running

STEPS = 6
LOG: list[Path] = []


def step(ctx: task.ActivityContext, index: int) -> int:
    with LOG[0].open("a") as log:
        log.write(f"{index}\n")
    time.sleep(0.3)
    return index * 10


def chain(ctx: task.OrchestrationContext, _: Any) -> Any:
    results = []
    for i in range(STEPS):
        results.append((yield ctx.call_activity(step, input=i)))
    return results


@pytest.mark.slow
def test_kill_9_mid_orchestration_then_restart_on_the_same_data(crashing: Scheduler, hub: str,
                                                                tmp_path: Path) -> None:
    LOG[:] = [tmp_path / "steps.log"]
    with running(crashing, hub, chain, step):
        with _client(crashing, hub) as client:
            iid = client.schedule_new_orchestration(chain)
        deadline = time.monotonic() + 60
        while len(_runs()) < 3:
            assert time.monotonic() < deadline, "the steps did not start"
            time.sleep(0.02)
        crashing.kill()
        at_kill = len(_runs())
        crashing.start()  # same port, same data directory: the worker's own retries find it again
        state = _wait_after_restart(crashing, hub, iid)
    assert state is not None and state.runtime_status == dt_client.OrchestrationStatus.COMPLETED
    assert state.get_output() == [i * 10 for i in range(STEPS)]
    runs = _runs()
    counts = [runs.count(i) for i in range(STEPS)]
    # A step whose successor had started was committed before the kill and never runs again; the step running
    # when devhost died may run twice (activities are at-least-once), every other runs once.
    assert all(count == 1 for count in counts[:at_kill - 1]), counts
    assert all(1 <= count <= 2 for count in counts), counts
    assert sum(counts) <= STEPS + 1, counts


class Tally(entities.DurableEntity):
    def add(self, amount: int) -> None:
        self.set_state(self.get_state(int, 0) + amount)


@pytest.mark.slow
def test_a_scheduled_signal_outlives_a_kill_9(crashing: Scheduler, hub: str) -> None:
    tally = EntityInstanceId("Tally", "t")
    with running(crashing, hub, entities=(Tally,)):
        with _client(crashing, hub) as client:
            due = datetime.now(UTC) + timedelta(seconds=3)
            client.signal_entity(tally, "add", 1, signal_time=due)
        crashing.kill()
        crashing.start()
        deadline = time.monotonic() + 60
        while True:
            with _client(crashing, hub) as client:
                try:
                    found = client.get_entity(tally)
                except grpc.RpcError as exc:
                    if exc.code() != grpc.StatusCode.UNAVAILABLE:
                        raise
                    found = None
            if found is not None:
                break
            assert time.monotonic() < deadline, "the scheduled signal never arrived"
            time.sleep(0.1)
    assert found.get_state(int) == 1 and found.last_modified >= due


def _wait_after_restart(server: Scheduler, hub: str, iid: str) -> dt_client.OrchestrationState | None:
    """Wait for the instance as a caller would after a restart: gRPC keeps a connection that was refused in
    backoff for a moment (shared by every channel of the process), so a call may fail fast until it retries."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with _client(server, hub) as client:
                return client.wait_for_orchestration_completion(iid, timeout=60)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _client(server: Scheduler, hub: str) -> dt_client.TaskHubGrpcClient:
    return dt_client.TaskHubGrpcClient(host_address=server.address, metadata=[("taskhub", hub)])


def _runs() -> list[int]:
    return [int(line) for line in LOG[0].read_text().split()] if LOG[0].exists() else []
