"""The client calls of TaskHubSidecarService through the real durabletask client."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from durabletask import client as dt_client
from durabletask import task
from durabletask.internal import orchestrator_service_pb2 as pb

from .conftest import Scheduler, running

Status = dt_client.OrchestrationStatus


def echo(ctx: task.OrchestrationContext, value: Any) -> Any:
    return {"input": value, "version": ctx.version}


def waiter(ctx: task.OrchestrationContext, _: Any) -> Any:
    value = yield ctx.wait_for_external_event("go")
    return value


def test_start_get_and_wait_with_and_without_payloads(scheduler: Scheduler, hub: str,
                                                      client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, echo):
        iid = client.schedule_new_orchestration(echo, input={"a": 1}, version="1.2")
        state = client.wait_for_orchestration_completion(iid, timeout=30)
        assert state is not None and state.get_output() == {"input": {"a": 1}, "version": "1.2"}
        bare = client.get_orchestration_state(iid, fetch_payloads=False)
    assert bare is not None and bare.serialized_input is None and bare.serialized_output is None
    assert bare.name == "echo" and bare.runtime_status == Status.COMPLETED
    assert client.get_orchestration_state("no-such-instance") is None


@pytest.mark.slow
def test_a_scheduled_start_waits_until_its_time(scheduler: Scheduler, hub: str,
                                                client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, echo):
        start_at = datetime.now(UTC) + timedelta(seconds=1.5)
        iid = client.schedule_new_orchestration(echo, input=1, start_at=start_at)
        assert client.get_orchestration_state(iid).runtime_status == Status.PENDING
        started = client.wait_for_orchestration_start(iid, timeout=30)
        assert started is not None and datetime.now(UTC) >= start_at
        state = client.wait_for_orchestration_completion(iid, timeout=30)
    assert state is not None and state.runtime_status == Status.COMPLETED


def test_instance_id_reuse_follows_the_policy(scheduler: Scheduler, hub: str,
                                              client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, echo, waiter):
        client.schedule_new_orchestration(waiter, instance_id="same")
        with pytest.raises(grpc.RpcError) as running_one:
            client.schedule_new_orchestration(echo, instance_id="same")
        assert running_one.value.code() == grpc.StatusCode.ALREADY_EXISTS
        client.raise_orchestration_event("same", "go", data=1)
        client.wait_for_orchestration_completion("same", timeout=30)
        # Without a policy a finished instance is replaced; with one, only the statuses it names are.
        only_failed = pb.OrchestrationIdReusePolicy(replaceableStatus=[pb.ORCHESTRATION_STATUS_FAILED])
        with pytest.raises(grpc.RpcError) as refused:
            client.schedule_new_orchestration(echo, instance_id="same", input=2, reuse_id_policy=only_failed)
        assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
        client.schedule_new_orchestration(echo, instance_id="same", input=3)
        state = client.wait_for_orchestration_completion("same", timeout=30)
    assert state is not None and state.get_output()["input"] == 3


def test_terminate_suspend_and_resume(scheduler: Scheduler, hub: str, client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, waiter):
        paused = client.schedule_new_orchestration(waiter)
        client.wait_for_orchestration_start(paused, timeout=30)
        client.suspend_orchestration(paused, reason="hold on")
        _wait_for(lambda: client.get_orchestration_state(paused).runtime_status == Status.SUSPENDED)
        client.raise_orchestration_event(paused, "go", data="later")
        time.sleep(0.5)
        assert client.get_orchestration_state(paused).runtime_status == Status.SUSPENDED
        client.resume_orchestration(paused)
        state = client.wait_for_orchestration_completion(paused, timeout=30)
        assert state is not None and state.get_output() == "later"

        stopped = client.schedule_new_orchestration(waiter)
        client.wait_for_orchestration_start(stopped, timeout=30)
        client.terminate_orchestration(stopped, output={"why": "enough"})
        state = client.wait_for_orchestration_completion(stopped, timeout=30)
    assert state is not None and state.runtime_status == Status.TERMINATED
    assert state.get_output() == {"why": "enough"}
    with pytest.raises(grpc.RpcError) as unknown:
        client.raise_orchestration_event("no-such-instance", "go")
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_wait_for_completion_times_out_on_a_running_instance(scheduler: Scheduler, hub: str,
                                                            client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, waiter):
        iid = client.schedule_new_orchestration(waiter)
        with pytest.raises(TimeoutError):
            client.wait_for_orchestration_completion(iid, timeout=1)
        client.terminate_orchestration(iid)


def test_query_purge_and_list(scheduler: Scheduler, hub: str, client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, echo, waiter):
        done = [client.schedule_new_orchestration(echo, instance_id=f"q-done-{i}", input=i) for i in range(3)]
        for iid in done:
            client.wait_for_orchestration_completion(iid, timeout=30)
        open_one = client.schedule_new_orchestration(waiter, instance_id="q-open")
        client.wait_for_orchestration_start(open_one, timeout=30)
        everything = client.get_all_orchestration_states(dt_client.OrchestrationQuery(max_instance_count=2))
        assert sorted(s.instance_id for s in everything) == sorted([*done, open_one])  # two pages of two
        finished = client.get_all_orchestration_states(dt_client.OrchestrationQuery(
            runtime_status=[Status.COMPLETED], instance_id_prefix="q-", fetch_inputs_and_outputs=True))
        assert sorted(s.get_input() for s in finished) == [0, 1, 2]
        page = client.list_instance_ids(runtime_status=[Status.COMPLETED], page_size=2)
        rest = client.list_instance_ids(runtime_status=[Status.COMPLETED], page_size=2,
                                        continuation_token=page.continuation_token)
        assert sorted(page.items + rest.items) == sorted(done) and rest.continuation_token is None

        assert client.purge_orchestration(done[0]).deleted_instance_count == 1
        assert client.get_orchestration_state(done[0]) is None
        assert client.purge_orchestration(open_one).deleted_instance_count == 0  # still running
        purged = client.purge_orchestrations_by(runtime_status=[Status.COMPLETED])
        assert purged.deleted_instance_count == 2 and purged.is_complete is True
        client.terminate_orchestration(open_one)


FAIL_ONCE: dict[str, int] = {}


def fragile(ctx: task.ActivityContext, key: str) -> str:
    FAIL_ONCE[key] = FAIL_ONCE.get(key, 0) + 1
    if FAIL_ONCE[key] == 1:
        raise RuntimeError("first run fails")
    return f"run {FAIL_ONCE[key]}"


def steps(ctx: task.OrchestrationContext, key: str) -> Any:
    first = yield ctx.call_activity(double_up, input=2)
    second = yield ctx.call_activity(fragile, input=key)
    return [first, second]


def double_up(ctx: task.ActivityContext, value: int) -> int:
    FAIL_ONCE["double_up"] = FAIL_ONCE.get("double_up", 0) + 1
    return value * 2


def test_restart_and_rewind(scheduler: Scheduler, hub: str, client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, steps, fragile, double_up, echo):
        iid = client.schedule_new_orchestration(steps, input=hub)
        failed = client.wait_for_orchestration_completion(iid, timeout=30)
        assert failed is not None and failed.runtime_status == Status.FAILED
        client.rewind_orchestration(iid, reason="fixed")
        state = client.wait_for_orchestration_completion(iid, timeout=30)
        assert state is not None and state.runtime_status == Status.COMPLETED, state.failure_details
        assert state.get_output() == [4, "run 2"]
        assert FAIL_ONCE["double_up"] == 1  # the step that had succeeded did not run again
        with pytest.raises(grpc.RpcError) as not_failed:
            client.rewind_orchestration(iid)
        assert not_failed.value.code() == grpc.StatusCode.FAILED_PRECONDITION

        original = client.schedule_new_orchestration(echo, input="again")
        client.wait_for_orchestration_completion(original, timeout=30)
        same = client.restart_orchestration(original)
        fresh = client.restart_orchestration(original, restart_with_new_instance_id=True)
        assert same == original and fresh != original
        for restarted in (same, fresh):
            state = client.wait_for_orchestration_completion(restarted, timeout=30)
            assert state is not None and state.get_output()["input"] == "again"


def test_a_bad_task_hub_name_is_refused(scheduler: Scheduler) -> None:
    with dt_client.TaskHubGrpcClient(host_address=scheduler.address, metadata=[("taskhub", "no such hub")]) as bad:
        with pytest.raises(grpc.RpcError) as refused:
            bad.get_orchestration_state("x")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def _wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
