"""Entity critical sections (``ctx.lock_entities``) through the real durabletask SDK.

While an orchestration holds an entity's lock, the entity takes only that orchestration's calls; every other
message (other orchestrations' lock requests and calls, client signals) waits in its queue until the release. Locks
are durable, and a lock whose orchestration ended without releasing it is released by ``clean_entity_storage``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import durabletask.internal.orchestrator_service_pb2 as pb
import durabletask.internal.orchestrator_service_pb2_grpc as stubs
import grpc
import pytest
from durabletask import client as dt_client
from durabletask import entities, task
from durabletask.entities import EntityInstanceId

from tests.fixtures.processes import Scheduler

from .conftest import running

Status = dt_client.OrchestrationStatus


class Account(entities.DurableEntity):
    def get(self, _: Any = None) -> int:
        return self.get_state(int, 0)

    def put(self, value: int) -> None:
        self.set_state(value)


def bump_both(ctx: task.OrchestrationContext, key: str) -> Any:
    """Read two accounts, wait a moment, write both back one higher: a lost update unless nobody else can act in
    between."""
    first, second = EntityInstanceId("Account", f"{key}-a"), EntityInstanceId("Account", f"{key}-b")
    with (yield ctx.lock_entities([second, first])):
        a = yield ctx.call_entity(first, "get")
        b = yield ctx.call_entity(second, "get")
        yield ctx.create_timer(timedelta(seconds=0.3))
        yield ctx.call_entity(first, "put", a + 1)
        yield ctx.call_entity(second, "put", b + 1)
    return [a, b]


def test_a_critical_section_across_two_entities_excludes_the_other_orchestrations(
        scheduler: Scheduler, hub: str, client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, bump_both, entities=(Account,)):
        ids = [client.schedule_new_orchestration(bump_both, input="pair") for _ in range(3)]
        states = [client.wait_for_orchestration_completion(iid, timeout=60) for iid in ids]
    assert all(s is not None and s.runtime_status == Status.COMPLETED for s in states), states
    # Each critical section saw the one before it complete: nobody read what another was about to overwrite.
    assert sorted(s.get_output() for s in states if s is not None) == [[0, 0], [1, 1], [2, 2]]
    for key in ("pair-a", "pair-b"):
        found = client.get_entity(EntityInstanceId("Account", key))
        assert found is not None and found.get_state(int) == 3


def holder(ctx: task.OrchestrationContext, key: str) -> Any:
    """Hold an account's lock until the event ``go``; what it reads before and after must be the same."""
    account = EntityInstanceId("Account", key)
    with (yield ctx.lock_entities([account])):
        before = yield ctx.call_entity(account, "get")
        yield ctx.wait_for_external_event("go")
        after = yield ctx.call_entity(account, "get")
    return [before, after]


def test_a_signal_waits_until_the_lock_is_released(scheduler: Scheduler, hub: str,
                                                   client: dt_client.TaskHubGrpcClient) -> None:
    account = EntityInstanceId("Account", "held")
    with running(scheduler, hub, holder, entities=(Account,)):
        client.signal_entity(account, "put", 1)
        _wait_for(lambda: _metadata(scheduler, hub, account) is not None)
        iid = client.schedule_new_orchestration(holder, input="held")
        _wait_for(lambda: _metadata(scheduler, hub, account).lockedBy.value == iid)
        client.signal_entity(account, "put", 2)
        _wait_for(lambda: _metadata(scheduler, hub, account).backlogQueueSize == 1)
        client.raise_orchestration_event(iid, "go")
        state = client.wait_for_orchestration_completion(iid, timeout=30)
        assert state is not None and state.get_output() == [1, 1]
        _wait_for(lambda: (found := client.get_entity(account)) is not None and found.get_state(int) == 2)
    released = _metadata(scheduler, hub, account)
    assert not released.HasField("lockedBy") and released.backlogQueueSize == 0


def test_a_lock_its_orchestration_never_released_is_released_by_clean_entity_storage(
        scheduler: Scheduler, hub: str, client: dt_client.TaskHubGrpcClient) -> None:
    account = EntityInstanceId("Account", "orphan")
    with running(scheduler, hub, holder, entities=(Account,)):
        client.signal_entity(account, "put", 1)
        _wait_for(lambda: _metadata(scheduler, hub, account) is not None)
        iid = client.schedule_new_orchestration(holder, input="orphan")
        _wait_for(lambda: _metadata(scheduler, hub, account).lockedBy.value == iid)
        assert client.clean_entity_storage().orphaned_locks_released == 0  # its owner still runs
        client.terminate_orchestration(iid)
        client.wait_for_orchestration_completion(iid, timeout=30)
        client.signal_entity(account, "put", 2)
        time.sleep(0.5)
        assert client.get_entity(account).get_state(int) == 1  # type: ignore[union-attr]
        assert client.clean_entity_storage().orphaned_locks_released == 1
        _wait_for(lambda: client.get_entity(account).get_state(int) == 2)  # type: ignore[union-attr]
    assert not _metadata(scheduler, hub, account).HasField("lockedBy")


@pytest.mark.slow
def test_a_lock_outlives_a_kill_9_of_devhost(crashing: Scheduler, hub: str) -> None:
    account = EntityInstanceId("Account", "durable")
    with running(crashing, hub, holder, entities=(Account,)):
        with _client(crashing, hub) as client:
            client.signal_entity(account, "put", 1)
            _wait_for(lambda: _metadata(crashing, hub, account) is not None)
            iid = client.schedule_new_orchestration(holder, input="durable")
            _wait_for(lambda: _metadata(crashing, hub, account).lockedBy.value == iid)
        crashing.kill()
        crashing.start()
        with _client(crashing, hub) as client:
            _retry_unavailable(lambda: client.signal_entity(account, "put", 2))
            assert _metadata(crashing, hub, account).lockedBy.value == iid
            _wait_for(lambda: _metadata(crashing, hub, account).backlogQueueSize == 1)
            client.raise_orchestration_event(iid, "go")
            state = client.wait_for_orchestration_completion(iid, timeout=60)
            assert state is not None and state.get_output() == [1, 1]
            _wait_for(lambda: client.get_entity(account).get_state(int) == 2)  # type: ignore[union-attr]


def _metadata(scheduler: Scheduler, hub: str, entity: EntityInstanceId) -> pb.EntityMetadata | None:
    """The entity's metadata as GetEntity answers it (lockedBy and backlogQueueSize included), straight from the
    protocol: the SDK's EntityMetadata reads lockedBy as an entity id, which an orchestration's id is not."""
    with grpc.insecure_channel(scheduler.address) as channel:
        answer = stubs.TaskHubSidecarServiceStub(channel).GetEntity(  # type: ignore[no-untyped-call]
            pb.GetEntityRequest(instanceId=str(entity)), metadata=[("taskhub", hub)])
    return answer.entity if answer.exists else None


def _client(server: Scheduler, hub: str) -> dt_client.TaskHubGrpcClient:
    return dt_client.TaskHubGrpcClient(host_address=server.address, metadata=[("taskhub", hub)])


def _retry_unavailable(call: Any, timeout: float = 30) -> None:
    """gRPC keeps a refused connection in backoff for a moment after a restart; the call goes through after it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            call()
            return
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (AttributeError, grpc.RpcError):  # not there yet, or devhost not back yet
            pass
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
