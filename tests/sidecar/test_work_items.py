"""Work items: shared by several workers, given back when a worker dies or refuses one, delivered again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from durabletask import client as dt_client
from durabletask import task
from durabletask.worker import VersionFailureStrategy, VersioningOptions, VersionMatchStrategy

from tests.fixtures.processes import REPO

from .conftest import Scheduler, new_worker, running

Status = dt_client.OrchestrationStatus


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def spawn(scheduler: Scheduler, hub: str, marks: Path) -> Iterator[Any]:
    """Start worker processes on the test's hub; each is killed (by its pid) when the test ends."""
    started: list[subprocess.Popen[bytes]] = []

    def start(label: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", "tests.sidecar.worker_process", scheduler.address, hub,
                                    str(marks), label], cwd=REPO, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_several_workers_on_one_hub_share_the_work(scheduler: Scheduler, hub: str,
                                                   client: dt_client.TaskHubGrpcClient, spawn: Any) -> None:
    spawn("first")
    spawn("second")
    deadline = time.monotonic() + 60
    while f"worker connected to task hub {hub} (2 connected)" not in scheduler.log():
        assert time.monotonic() < deadline, "the two workers did not both connect"
        time.sleep(0.05)
    iid = client.schedule_new_orchestration("relay", input=12)
    state = client.wait_for_orchestration_completion(iid, timeout=60)
    assert state is not None and state.runtime_status == Status.COMPLETED
    labels = state.get_output()
    assert len(labels) == 12 and set(labels) == {"first", "second"}


def slow(ctx: task.ActivityContext, key: str) -> str:
    return f"done by the second worker for {key}"


def relay(ctx: task.OrchestrationContext, count: int) -> Any:
    return (yield ctx.call_activity("slow", input=ctx.instance_id))


@pytest.mark.slow
def test_an_item_held_by_a_worker_that_dies_goes_to_the_next_worker(
        scheduler: Scheduler, hub: str, client: dt_client.TaskHubGrpcClient, spawn: Any, marks: Path) -> None:
    doomed = spawn("doomed")
    iid = client.schedule_new_orchestration("relay", input=0)
    deadline = time.monotonic() + 60
    while not (marks / f"{iid}.started").exists():
        assert time.monotonic() < deadline and doomed.poll() is None, "the first worker never started the activity"
        time.sleep(0.05)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    with running(scheduler, hub, relay, slow):
        state = client.wait_for_orchestration_completion(iid, timeout=60)
    assert state is not None and state.get_output() == f"done by the second worker for {iid}"


def versioned(ctx: task.OrchestrationContext, _: Any) -> str:
    return f"ran version {ctx.version}"


@pytest.mark.slow
def test_an_abandoned_item_is_offered_again(scheduler: Scheduler, hub: str,
                                            client: dt_client.TaskHubGrpcClient) -> None:
    picky = new_worker(scheduler, hub, versioned)
    # This worker runs only version 1.0 and gives every other back (AbandonTaskOrchestratorWorkItem).
    picky.use_versioning(VersioningOptions(version="1.0", match_strategy=VersionMatchStrategy.STRICT,
                                           failure_strategy=VersionFailureStrategy.REJECT))
    picky.start()
    try:
        iid = client.schedule_new_orchestration(versioned, version="2.0")
        time.sleep(2.5)  # refused at least twice
        assert client.get_orchestration_state(iid).runtime_status in (Status.PENDING, Status.RUNNING)
        with running(scheduler, hub, versioned):
            state = client.wait_for_orchestration_completion(iid, timeout=30)
    finally:
        picky.stop()
    assert state is not None and state.get_output() == "ran version 2.0"


def only_orchestrates(ctx: task.OrchestrationContext, _: Any) -> Any:
    return (yield ctx.call_activity("only_acts", input="x"))


def only_acts(ctx: task.ActivityContext, value: str) -> str:
    return value * 3


def test_work_item_filters_send_each_worker_only_what_it_has(scheduler: Scheduler, hub: str,
                                                             client: dt_client.TaskHubGrpcClient) -> None:
    orchestrating, acting = new_worker(scheduler, hub, only_orchestrates), new_worker(scheduler, hub, only_acts)
    for worker in (orchestrating, acting):
        worker.use_work_item_filters()  # from what each registered: without them each would get the other's work
        worker.start()
    try:
        states = [client.schedule_new_orchestration(only_orchestrates) for _ in range(4)]
        outputs = [client.wait_for_orchestration_completion(iid, timeout=30).get_output() for iid in states]
    finally:
        orchestrating.stop()
        acting.stop()
    assert outputs == ["xxx"] * 4
