"""Orchestrations with activities through the real durabletask worker and client."""

from __future__ import annotations

from typing import Any

from durabletask import client as dt_client
from durabletask import task

from tests.fixtures.processes import Scheduler

from .conftest import running


def hello(ctx: task.ActivityContext, name: str) -> str:
    return f"Hello {name}!"


def greetings(ctx: task.OrchestrationContext, names: list[str]) -> Any:
    results = []
    for name in names:
        results.append((yield ctx.call_activity(hello, input=name)))
    return results


def test_an_orchestration_calls_activities_in_sequence(scheduler: Scheduler, hub: str,
                                                       client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, greetings, hello):
        instance_id = client.schedule_new_orchestration(greetings, input=["Tokyo", "Seattle"])
        state = client.wait_for_orchestration_completion(instance_id, timeout=30)
    assert state is not None and state.runtime_status == dt_client.OrchestrationStatus.COMPLETED
    assert state.serialized_output is not None
    assert state.get_output() == ["Hello Tokyo!", "Hello Seattle!"]
    assert state.get_input() == ["Tokyo", "Seattle"]
