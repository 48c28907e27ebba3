"""Turns on a session run one at a time, in arrival order.

The session entity keeps the queue (see ``_session``): the HTTP API enqueues a run before starting it, so the
order is the order requests arrived in; a run started another way (a workflow's ``run``) joins when it starts.
A run waits until it is first in the queue, then runs seeing every earlier turn, and hands the turn on when it
appends its messages (or fails). A run that ended without handing on (canceled, terminated from elsewhere) is
noticed by the run waiting behind it, which takes it out of the queue. All of it is durable: the queue is entity
state and the waiting is orchestration history, so the order survives a crash.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from . import _session as session

TURN_EVENT = "agent_turn"
HOLDER_STEP = "agent_turn_holder"
NOTIFY_STEP = "agent_turn_notify"
# A waiting run looks at the run ahead of it this often, for runs ended by something that did not hand on.
RECHECK_SECONDS = 30
# A run that is queued but not found was enqueued by a request still starting it, unless it has been so long.
START_GRACE_SECONDS = 60
ENDED = {"Completed", "Failed", "Terminated", "Canceled"}

bp = df.Blueprint()
log = logging.getLogger(__name__)


def take_turn(context: df.DurableOrchestrationContext, sid: df.EntityId, on_wait: Any):
    """Wait until this run holds its session's turn; ``on_wait(run_id or None)`` says whom it waits for."""
    me = context.instance_id
    waiting = False
    while True:
        turn = yield context.call_entity(sid, "begin_turn", me)
        holder = turn["holder"]
        if holder == me:
            if waiting:
                on_wait(None)
            return
        waiting = True
        on_wait(holder)
        status = yield context.call_activity(HOLDER_STEP, holder)
        if status in ENDED or (status is None and turn["holder_queued_seconds"] > START_GRACE_SECONDS):
            yield from hand_on(context, sid, holder)
            continue
        woken = context.wait_for_external_event(TURN_EVENT)
        timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=RECHECK_SECONDS))
        winner = yield context.task_any([woken, timer])
        if winner == woken:
            timer.cancel()


def hand_on(context: df.DurableOrchestrationContext, sid: df.EntityId, run_id: str):
    """Take ``run_id`` out of the queue and wake the run that holds the turn after it."""
    handed = yield context.call_entity(sid, "end_turn", run_id)
    yield from wake(context, handed["next"])


def wake(context: df.DurableOrchestrationContext, run_id: str | None):
    if run_id is not None:
        yield context.call_activity(NOTIFY_STEP, run_id)


async def enqueue(client: df.DurableOrchestrationClient, agent: str, session_id: str, run_id: str) -> None:
    """Give a run its place before it starts (signals from one client reach the entity in order)."""
    await client.signal_entity(session.entity_id(agent, session_id), "enqueue", run_id)


async def leave(client: df.DurableOrchestrationClient, agent: str, session_id: str, run_id: str) -> None:
    """After a run was canceled: take it out of the queue and wake the run behind it at once."""
    sid = session.entity_id(agent, session_id)
    found = await client.read_entity_state(sid)
    queue = [e["run_id"] for e in ((found.entity_state or {}).get("queue") or [])] if found.entity_exists else []
    await client.signal_entity(sid, "end_turn", run_id)
    if run_id in queue and queue.index(run_id) + 1 < len(queue):
        await _raise(client, queue[queue.index(run_id) + 1])


async def _raise(client: df.DurableOrchestrationClient, run_id: str) -> None:
    try:
        await client.raise_event(run_id, TURN_EVENT, None)
    except Exception as exc:  # a run that has ended cannot be woken, and needs not be
        log.info("run %s was not woken for its turn: %s", run_id, exc)


@bp.activity_trigger(input_name="run_id", activity=HOLDER_STEP)
@bp.durable_client_input(client_name="client")
async def agent_turn_holder(run_id: str, client: df.DurableOrchestrationClient) -> str | None:
    """The runtime status of the run holding a turn, None when there is no such run."""
    status = await client.get_status(run_id)
    return status.runtime_status.value if status and status.runtime_status else None


@bp.activity_trigger(input_name="run_id", activity=NOTIFY_STEP)
@bp.durable_client_input(client_name="client")
async def agent_turn_notify(run_id: str, client: df.DurableOrchestrationClient) -> None:
    """Tell a waiting run that it may hold the turn now."""
    await _raise(client, run_id)
