"""Orchestration features through the real durabletask SDK against devhost's gRPC port."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from durabletask import client as dt_client
from durabletask import task

from tests.fixtures.processes import Scheduler

from .conftest import running

Status = dt_client.OrchestrationStatus


def double(ctx: task.ActivityContext, value: int) -> int:
    return value * 2


def child(ctx: task.OrchestrationContext, value: int) -> Any:
    doubled = yield ctx.call_activity(double, input=value)
    return {"child": ctx.instance_id, "parent": ctx.parent_instance_id, "value": doubled}


def parent(ctx: task.OrchestrationContext, _: Any) -> Any:
    results = yield task.when_all([ctx.call_sub_orchestrator(child, input=i) for i in range(3)])
    named = yield ctx.call_sub_orchestrator(child, input=10, instance_id=f"{ctx.instance_id}-named")
    return {"fan": [r["value"] for r in results], "named": named}


def test_sub_orchestrations_fan_out_and_know_their_parent(scheduler: Scheduler, hub: str,
                                                          client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, parent, child, double):
        iid = client.schedule_new_orchestration(parent, instance_id="p1")
        state = client.wait_for_orchestration_completion(iid, timeout=30)
    assert state is not None and state.runtime_status == Status.COMPLETED, state
    output = state.get_output()
    assert output["fan"] == [0, 2, 4]
    assert output["named"] == {"child": "p1-named", "parent": "p1", "value": 20}
    assert client.get_orchestration_state("p1-named").runtime_status == Status.COMPLETED


def sleeper(ctx: task.OrchestrationContext, seconds: float) -> Any:
    started = ctx.current_utc_datetime
    yield ctx.create_timer(timedelta(seconds=seconds))
    return (ctx.current_utc_datetime - started).total_seconds()


@pytest.mark.slow
def test_a_durable_timer_fires_after_its_time(scheduler: Scheduler, hub: str,
                                              client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, sleeper):
        iid = client.schedule_new_orchestration(sleeper, input=1.0)
        state = client.wait_for_orchestration_completion(iid, timeout=30)
    assert state is not None and state.runtime_status == Status.COMPLETED
    assert state.get_output() >= 1.0


def approval(ctx: task.OrchestrationContext, _: Any) -> Any:
    ctx.set_custom_status("waiting for approval")
    timeout = ctx.create_timer(timedelta(seconds=60))
    event = ctx.wait_for_external_event("approve")
    winner = yield task.when_any([event, timeout])
    if winner is timeout:
        return "timed out"
    ctx.set_custom_status("approved")
    return f"approved by {event.get_result()['by']}"


def test_an_external_event_wakes_a_waiting_orchestration_and_custom_status_shows(
        scheduler: Scheduler, hub: str, client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, approval):
        iid = client.schedule_new_orchestration(approval)
        client.wait_for_orchestration_start(iid, timeout=30)
        _wait_for(lambda: client.get_orchestration_state(iid).serialized_custom_status is not None)
        assert client.get_orchestration_state(iid).get_custom_status() == "waiting for approval"
        client.raise_orchestration_event(iid, "approve", data={"by": "ana"})
        state = client.wait_for_orchestration_completion(iid, timeout=30)
    assert state is not None and state.get_output() == "approved by ana"
    assert state.get_custom_status() == "approved"


def counter_loop(ctx: task.OrchestrationContext, count: int) -> Any:
    if count < 3:
        ctx.continue_as_new(count + 1)
        return None
    extra = yield ctx.wait_for_external_event("extra")
    return {"count": count, "extra": extra}


def test_continue_as_new_restarts_with_new_input(scheduler: Scheduler, hub: str,
                                                 client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, counter_loop):
        iid = client.schedule_new_orchestration(counter_loop, input=0)
        _wait_for(lambda: client.get_orchestration_state(iid).get_input() == 3)
        client.raise_orchestration_event(iid, "extra", data="x")
        state = client.wait_for_orchestration_completion(iid, timeout=30)
    assert state is not None and state.get_output() == {"count": 3, "extra": "x"}


def collector(ctx: task.OrchestrationContext, seen: list[str]) -> Any:
    if len(seen) == 2:
        return seen
    item = yield ctx.wait_for_external_event("item")
    ctx.continue_as_new([*seen, item], save_events=True)


def test_continue_as_new_carries_over_events_it_did_not_read(scheduler: Scheduler, hub: str,
                                                              client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, collector):
        iid = client.schedule_new_orchestration(collector, input=[])
        client.wait_for_orchestration_start(iid, timeout=30)
        client.raise_orchestration_event(iid, "item", data="a")
        client.raise_orchestration_event(iid, "item", data="b")
        state = client.wait_for_orchestration_completion(iid, timeout=30)
    assert state is not None and state.get_output() == ["a", "b"]


ATTEMPTS: dict[str, int] = {}


def flaky(ctx: task.ActivityContext, key: str) -> str:
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] < 3:
        raise ValueError(f"attempt {ATTEMPTS[key]} of {key} fails")
    return f"{key} ok after {ATTEMPTS[key]}"


def retrying(ctx: task.OrchestrationContext, keys: list[str]) -> Any:
    policy = task.RetryPolicy(first_retry_interval=timedelta(milliseconds=100), max_number_of_attempts=3)
    return (yield task.when_all([ctx.call_activity(flaky, input=k, retry_policy=policy) for k in keys]))


def test_retries_done_by_the_sdk_keep_each_task_its_own_result(scheduler: Scheduler, hub: str,
                                                              client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, retrying, flaky):
        iid = client.schedule_new_orchestration(retrying, input=[f"{hub}A", f"{hub}B"])
        state = client.wait_for_orchestration_completion(iid, timeout=30)
    assert state is not None and state.runtime_status == Status.COMPLETED, state.failure_details
    assert state.get_output() == [f"{hub}A ok after 3", f"{hub}B ok after 3"]


def broken(ctx: task.ActivityContext, _: Any) -> None:
    raise KeyError("no such customer")


def failing(ctx: task.OrchestrationContext, _: Any) -> Any:
    try:
        yield ctx.call_activity(broken)
    except task.TaskFailedError as exc:
        caught = exc.details.error_type
    else:
        caught = None
    yield ctx.call_activity(broken, input=caught)


def test_failure_details_reach_the_orchestrator_and_the_client(scheduler: Scheduler, hub: str,
                                                              client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, failing, broken):
        iid = client.schedule_new_orchestration(failing)
        state = client.wait_for_orchestration_completion(iid, timeout=30)
    assert state is not None and state.runtime_status == Status.FAILED
    details = state.failure_details
    assert details is not None and "no such customer" in details.message
    with pytest.raises(dt_client.OrchestrationFailedError):
        state.raise_if_failed()
    # The first failure reached the orchestrator with the worker's own error type.
    history = client.get_orchestration_history(iid)
    failed = [e for e in history if type(e).__name__ == "TaskFailedEvent"]
    assert len(failed) == 2 and "KeyError" in str(failed[0])


def _wait_for(condition: Any, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def bad_child(ctx: task.OrchestrationContext, _: Any) -> Any:
    yield ctx.call_activity(broken)


def careful_parent(ctx: task.OrchestrationContext, _: Any) -> Any:
    try:
        yield ctx.call_sub_orchestrator(bad_child)
    except task.TaskFailedError as exc:
        return {"message": exc.details.message, "type": exc.details.error_type}
    return None


def test_a_failed_sub_orchestration_reaches_its_parent_with_failure_details(
        scheduler: Scheduler, hub: str, client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, careful_parent, bad_child, broken):
        iid = client.schedule_new_orchestration(careful_parent)
        state = client.wait_for_orchestration_completion(iid, timeout=30)
    assert state is not None and state.runtime_status == Status.COMPLETED, state.failure_details
    assert "no such customer" in state.get_output()["message"]


def listener(ctx: task.OrchestrationContext, _: Any) -> Any:
    return (yield ctx.wait_for_external_event("ping"))


def sender(ctx: task.OrchestrationContext, target: str) -> Any:
    ctx.send_event(target, "ping", data={"from": ctx.instance_id})
    return "sent"


def test_an_orchestration_sends_an_event_to_another(scheduler: Scheduler, hub: str,
                                                    client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, listener, sender):
        target = client.schedule_new_orchestration(listener)
        client.wait_for_orchestration_start(target, timeout=30)
        source = client.schedule_new_orchestration(sender, input=target)
        assert client.wait_for_orchestration_completion(source, timeout=30).get_output() == "sent"
        state = client.wait_for_orchestration_completion(target, timeout=30)
    assert state is not None and state.get_output() == {"from": source}
