"""Durable entities through the real durabletask SDK: signals (also at a set time), calls from orchestrations,
state, queries."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from durabletask import client as dt_client
from durabletask import entities, task
from durabletask.entities import EntityInstanceId

from tests.fixtures.processes import Scheduler

from .conftest import running


class Counter(entities.DurableEntity):
    def add(self, amount: int) -> int:
        total = self.get_state(int, 0) + amount
        self.set_state(total)
        return total

    def get(self, _: Any = None) -> int:
        return self.get_state(int, 0)

    def boom(self, _: Any = None) -> None:
        raise ValueError("counters do not explode")

    def forward(self, key: str) -> None:
        # An entity's own side effects: a signal to another entity and a new orchestration.
        self.signal_entity(EntityInstanceId("Counter", key), "add", self.get_state(int, 0))
        self.schedule_new_orchestration("reporter", input=key, instance_id=f"report-{key}")

    def later(self, key: str) -> None:
        self.signal_entity(EntityInstanceId("Counter", key), "add", 1,
                           signal_time=datetime.now(UTC) + timedelta(seconds=DELAY))


DELAY = 1.5


def reporter(ctx: task.OrchestrationContext, key: str) -> Any:
    return (yield ctx.call_entity(EntityInstanceId("Counter", key), "get"))


def adder(ctx: task.OrchestrationContext, key: str) -> Any:
    counter = EntityInstanceId("Counter", key)
    ctx.signal_entity(counter, "add", 5)
    first = yield ctx.call_entity(counter, "add", 10)
    try:
        yield ctx.call_entity(counter, "boom")
    except task.TaskFailedError as exc:
        failure = exc.details.message
    return {"first": first, "now": (yield ctx.call_entity(counter, "get")), "failure": failure}


def test_signals_calls_and_state(scheduler: Scheduler, hub: str, client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, adder, reporter, entities=(Counter,)):
        counter = EntityInstanceId("Counter", "c1")
        client.signal_entity(counter, "add", input=1)
        client.signal_entity(counter, "add", input=2)
        _wait_for(lambda: (found := client.get_entity(counter)) is not None and found.get_state(int) == 3)
        iid = client.schedule_new_orchestration(adder, input="c1")
        state = client.wait_for_orchestration_completion(iid, timeout=30)
        assert state is not None and state.runtime_status == dt_client.OrchestrationStatus.COMPLETED, state
        output = state.get_output()
        assert output["first"] == 18 and output["now"] == 18
        assert "counters do not explode" in output["failure"]

        client.signal_entity(counter, "forward", input="c2")
        _wait_for(lambda: client.get_orchestration_state("report-c2") is not None)
        report = client.wait_for_orchestration_completion("report-c2", timeout=30)
        assert report is not None and report.get_output() in (0, 18)  # the signal and the start race
        _wait_for(lambda: (found := client.get_entity(EntityInstanceId("Counter", "c2"))) is not None
                  and found.get_state(int) == 18)
    assert client.get_entity(EntityInstanceId("Counter", "nobody")) is None
    listed = client.get_all_entities(dt_client.EntityQuery(instance_id_starts_with="@counter@", page_size=1))
    assert sorted(str(e.id) for e in listed) == ["@counter@c1", "@counter@c2"]
    assert [e.get_state(int) for e in listed if str(e.id) == "@counter@c1"] == [18]


def signal_later(ctx: task.OrchestrationContext, key: str) -> None:
    ctx.signal_entity(EntityInstanceId("Counter", key), "add", 1,
                      signal_time=ctx.current_utc_datetime + timedelta(seconds=DELAY))


def test_a_signal_with_a_time_arrives_then(scheduler: Scheduler, hub: str,
                                           client: dt_client.TaskHubGrpcClient) -> None:
    """From a client, an orchestration and an entity: nothing arrives before its time, everything after it."""
    counters = {source: EntityInstanceId("Counter", source) for source in ("client", "orchestration", "entity")}
    with running(scheduler, hub, signal_later, entities=(Counter,)):
        for counter in counters.values():
            client.signal_entity(counter, "add", 0)  # so that the counter exists
        _wait_for(lambda: all(client.get_entity(c) is not None for c in counters.values()))
        sent = datetime.now(UTC)
        client.signal_entity(counters["client"], "add", 1, signal_time=sent + timedelta(seconds=DELAY))
        iid = client.schedule_new_orchestration(signal_later, input="orchestration")
        client.signal_entity(counters["entity"], "later", "entity")
        assert client.wait_for_orchestration_completion(iid, timeout=30) is not None
        time.sleep(DELAY / 3)
        assert [client.get_entity(c).get_state(int) for c in counters.values()] == [0, 0, 0]  # type: ignore[union-attr]
        _wait_for(lambda: all(client.get_entity(c).get_state(int) == 1  # type: ignore[union-attr]
                              for c in counters.values()))
    for counter in counters.values():
        found = client.get_entity(counter)
        assert found is not None and found.last_modified >= sent + timedelta(seconds=DELAY), counter


class Scratch(entities.DurableEntity):
    def touch(self, _: Any = None) -> None:
        self.set_state("x")

    def remove(self, _: Any = None) -> None:
        self.delete()


def test_a_deleted_entity_is_gone_and_clean_storage_forgets_it(scheduler: Scheduler, hub: str,
                                                               client: dt_client.TaskHubGrpcClient) -> None:
    scratch = EntityInstanceId("Scratch", "s1")
    with running(scheduler, hub, entities=(Scratch,)):
        client.signal_entity(scratch, "touch")
        _wait_for(lambda: client.get_entity(scratch) is not None)
        client.signal_entity(scratch, "remove")
        _wait_for(lambda: client.get_entity(scratch) is None)
    cleaned = client.clean_entity_storage()
    assert cleaned.empty_entities_removed == 1 and cleaned.orphaned_locks_released == 0


def _wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
