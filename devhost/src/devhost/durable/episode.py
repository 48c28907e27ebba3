"""One orchestration episode: replay history through the SDK and turn its actions into work.

An episode is ``[past events] + OrchestratorStarted + new events`` sent to the orchestrator
function; its answer lists every action since the start. Actions already in history are checked
against it (a mismatch is a non-deterministic orchestrator); new actions get event ids exactly as
the Durable Task Framework allocates them and become scheduling events plus work for the engine.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .actions import (
    HTTP_ACTIVITY,
    Action,
    ActionType,
    describe_action,
    describe_event,
    flatten,
    label,
)
from .history import Event, EventType, event, timestamp
from .instance import Instance
from .versioning import MISMATCH_ERROR, MISMATCH_MESSAGE

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
FAILURE_TYPES = (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_FAILED)


@dataclass
class Outcome:
    """What an episode decided; the engine commits all of it in one transaction."""

    events: list[Event]
    status: str
    output: str | None
    custom_status: str | None
    continue_as_new: str | None = None
    tasks: list[tuple[str, int, str, str | None]] = field(default_factory=list)
    timers: list[tuple[str, Event]] = field(default_factory=list)
    # (instance id, name, input, task id, version asked for or None)
    children: list[tuple[str, str, str | None, int, str | None]] = field(default_factory=list)
    entity_ops: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    parent_message: Event | None = None
    # (instance id, event) for other instances: events an orchestrator sends with send_event.
    messages: list[tuple[str, Event]] = field(default_factory=list)
    # With continue_as_new: events the new execution gets after its ExecutionStarted, and a version of its own.
    carryover: list[Event] = field(default_factory=list)
    new_version: str | None = None


def is_retry_event(inst: Instance, ev: Event) -> bool:
    """Whether handling ``ev`` allocates event ids for a retry (timer or re-attempt)."""
    kind = ev["EventType"]
    if kind in FAILURE_TYPES:
        return "Retry" in inst.scheduled.get(ev.get("TaskScheduledId", -1), {})
    if kind == EventType.TIMER_FIRED:
        return "RetryOf" in inst.scheduled.get(ev.get("TimerId", -1), {})
    return False


def as_token(text: str | None) -> str | None:
    """An input the SDK produced as JSON text, stored as the extension stores it: a JSON string.

    An instance's input is kept as the JSON of what its starter sent; HTTP callers send a value,
    the SDK sends JSON text inside a JSON string, and the orchestrator gets that value back as is.
    """
    return None if text is None else json.dumps(text)


def _context_input(stored: str | None) -> str:
    """The ``input`` field of the orchestrator call: the stored JSON value itself.

    The SDK decodes a string as JSON text and dumps an object first; any other value (a number or
    a list sent straight to the HTTP API) is passed as its JSON text so that it decodes too.
    """
    if stored is None:
        return "null"
    head = stored.lstrip()[:1]
    return stored if head in ('"', "{") else json.dumps(stored)


def entity_instance_id(raw: str) -> str:
    """``@name@key`` with the name lowercased, as the extension stores entity ids."""
    _, name, key = raw.split("@", 2) if raw.startswith("@") else ("", raw, "")
    return f"@{name.lower()}@{key}"


class _Episode:
    def __init__(self, inst: Instance, now: datetime) -> None:
        self.inst = inst
        self.now = now
        self.next_id = inst.next_id
        self.out = Outcome(events=[], status="Running", output=inst.output,
                           custom_status=inst.custom_status)

    def allocate(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def schedule(self, action: Action, retry_of: int | None = None) -> None:
        """Turn one new action into its scheduling event and the work it needs."""
        inst, kind = self.inst, action["actionType"]
        event_id = self.allocate()
        when = timestamp(self.now)
        if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY, ActionType.CALL_HTTP):
            if kind == ActionType.CALL_HTTP:
                name, input_text = HTTP_ACTIVITY, json.dumps(action.get("httpRequest") or {})
            else:
                name, input_text = action["functionName"], action.get("input")
            ev = event(EventType.TASK_SCHEDULED, event_id, when, Name=name, Input=input_text)
            self.out.tasks.append(("http" if kind == ActionType.CALL_HTTP else "activity",
                                   event_id, name, input_text))
        elif kind in (ActionType.CALL_SUB_ORCHESTRATOR, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            child = action.get("instanceId") or f"{inst.id}:{event_id:04d}"
            ev = event(EventType.SUB_ORCHESTRATION_CREATED, event_id, when, Name=action["functionName"],
                       InstanceId=child, Input=action.get("input"), Version=action.get("version"))
            self.out.children.append((child, action["functionName"], as_token(action.get("input")), event_id,
                                      action.get("version")))
        elif kind == ActionType.CREATE_TIMER:
            fire_at = action["fireAt"]
            ev = event(EventType.TIMER_CREATED, event_id, when, FireAt=fire_at)
            self.out.timers.append((fire_at, event(EventType.TIMER_FIRED, -1, TimerId=event_id,
                                                   FireAt=fire_at)))
        elif kind in (ActionType.CALL_ENTITY, ActionType.SIGNAL_ENTITY):
            target = entity_instance_id(action["instanceId"])
            guid = str(uuid.uuid4())
            is_signal = kind == ActionType.SIGNAL_ENTITY
            message = {"op": action["operation"], "id": guid, "input": action.get("input"),
                       "parent": inst.id, "signal": is_signal}
            ev = event(EventType.EVENT_SENT, event_id, when, InstanceId=target,
                       Name=action["operation"], Input=json.dumps(message))
            caller = None if is_signal else {"hub": inst.hub, "id": inst.id,
                                             "execution": inst.execution, "guid": guid}
            self.out.entity_ops.append((target, {"name": action["operation"],
                                                 "input": action.get("input"),
                                                 "isSignal": is_signal, "caller": caller}))
        elif kind == ActionType.CONTINUE_AS_NEW:
            self.out.continue_as_new = as_token(action.get("input")) or "null"
            return
        else:
            raise ValueError(f"unsupported action type {kind}")
        if kind in (ActionType.CALL_ACTIVITY_WITH_RETRY, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
            ev["Retry"] = {**(action.get("retryOptions") or {}), "attempt": 1}
        self.out.events.append(ev)

    def retry(self, ev: Event) -> None:
        """Allocate what the SDK expects after a retried task fails or its retry timer fires."""
        inst = self.inst
        if ev["EventType"] in FAILURE_TYPES:
            failed = inst.scheduled[ev["TaskScheduledId"]]
            delay = failed["Retry"].get("firstRetryIntervalInMilliseconds") or 0
            fire_at = timestamp(self.now + timedelta(milliseconds=delay))
            timer_id = self.allocate()
            self.out.events.append(event(EventType.TIMER_CREATED, timer_id, timestamp(self.now),
                                         FireAt=fire_at, RetryOf=failed["EventId"]))
            self.out.timers.append((fire_at, event(EventType.TIMER_FIRED, -1, TimerId=timer_id,
                                                   FireAt=fire_at)))
            return
        failed = inst.scheduled[inst.scheduled[ev["TimerId"]]["RetryOf"]]
        options = failed["Retry"]
        # After the last attempt the SDK waits for one more timer and then fails the task itself.
        if options["attempt"] >= (options.get("maxNumberOfAttempts") or 1):
            return
        again = self.allocate()
        when = timestamp(self.now)
        attempt = {**failed, "EventId": again, "Timestamp": when,
                   "Retry": {**options, "attempt": options["attempt"] + 1},
                   "RetryOf": failed["EventId"]}
        if failed["EventType"] == EventType.TASK_SCHEDULED:
            kind = "http" if failed["Name"] == HTTP_ACTIVITY else "activity"
            self.out.tasks.append((kind, again, failed["Name"], failed.get("Input")))
        else:
            if failed["InstanceId"] == f"{inst.id}:{failed['EventId']:04d}":
                attempt["InstanceId"] = f"{inst.id}:{again:04d}"
            self.out.children.append((attempt["InstanceId"], failed["Name"], as_token(failed.get("Input")), again,
                                      failed.get("Version")))
        self.out.events.append(attempt)


def nondeterminism(inst: Instance, flat: list[Action], finished: bool) -> str | None:
    """A message naming the first replayed action that differs from history, if any."""
    for index, recorded in enumerate(inst.primaries):
        if index >= len(flat):
            if not finished:
                return None
            return (
                f"Non-deterministic orchestrator '{inst.name}': history has "
                f"{label(*describe_event(recorded))} with event id {recorded['EventId']}, but on "
                f"replay the orchestrator finished without scheduling it. Orchestrator code must "
                f"make the same calls in the same order on every replay."
            )
        if describe_action(flat[index]) != describe_event(recorded):
            return (
                f"Non-deterministic orchestrator '{inst.name}': expected "
                f"{label(*describe_event(recorded))} (event id {recorded['EventId']}) but the "
                f"orchestrator now schedules {label(*describe_action(flat[index]))}. Orchestrator "
                f"code must make the same calls in the same order on every replay; start a new "
                f"instance after changing it."
            )
    return None


def call_orchestrator(fn: Callable[[str], str], body: str) -> tuple[dict[str, Any], str | None]:
    """Call the orchestrator wrapper; an exception carries the state after a marker."""
    try:
        return json.loads(fn(body)), None
    except Exception as exc:  # the user's orchestrator failed, or the SDK could not run it
        message, marker, data = str(exc).partition(OUT_OF_PROC_MARKER)
        if marker:
            return json.loads(data), message
        return {"actions": [], "isDone": False}, f"{type(exc).__name__}: {exc}"


def run_episode(
    inst: Instance, batch: list[Event], fn: Callable[[str], str] | None, now: datetime
) -> Outcome:
    """Run one episode of ``inst`` with the new events ``batch``; nothing is written here."""
    ep = _Episode(inst, now)
    started = event(EventType.ORCHESTRATOR_STARTED, -1, timestamp(now))
    new = [started, *batch]
    ep.out.events.extend(new)
    if fn is None:
        return _fail(ep, f"The orchestrator function '{inst.name}' does not exist in this app.")
    texts = inst.replay_texts + [json.dumps(e) for e in new]
    body = (
        '{"history": [' + ",".join(texts) + '], "input": ' + _context_input(inst.input)
        + ', "instanceId": ' + json.dumps(inst.id) + ', "isReplaying": false'
        + ', "parentInstanceId": ' + json.dumps((inst.parent or {}).get("id"))
        + ', "upperSchemaVersion": 1, "upperSchemaVersionNew": 2}'
    )
    state, error = call_orchestrator(fn, body)
    flat = flatten(state.get("actions") or [])
    finished = bool(state.get("isDone")) or error is not None
    mismatch = nondeterminism(inst, flat, finished)
    if state.get("customStatus") is not None:
        ep.out.custom_status = json.dumps(state["customStatus"])
    if mismatch or error:
        return _fail(ep, mismatch or error or "")
    for ev in batch:
        if is_retry_event(inst, ev):
            ep.retry(ev)
    for action in flat[len(inst.primaries):]:
        ep.schedule(action)
    if state.get("isDone") and ep.out.continue_as_new is None:
        output = json.dumps(state.get("output"))
        ep.out.status, ep.out.output = "Completed", output
        ep.out.events.append(event(EventType.EXECUTION_COMPLETED, -1, timestamp(now),
                                   OrchestrationStatus="Completed", Result=output))
        ep.out.parent_message = _to_parent(inst, EventType.SUB_ORCHESTRATION_COMPLETED, Result=output)
    ep.out.events.append(event(EventType.ORCHESTRATOR_COMPLETED, -1, timestamp(now)))
    return ep.out


def version_mismatch(inst: Instance, batch: list[Event], now: datetime) -> Outcome:
    """The outcome of an episode this app's versioning refuses to run, with versionFailureStrategy Fail."""
    ep = _Episode(inst, now)
    ep.out.events.extend([event(EventType.ORCHESTRATOR_STARTED, -1, timestamp(now)), *batch])
    return _fail(ep, MISMATCH_MESSAGE, MISMATCH_ERROR, f"{MISMATCH_ERROR}: {MISMATCH_MESSAGE}")


def _fail(ep: _Episode, reason: str, error_type: str = "OrchestrationFailure", message: str | None = None) -> Outcome:
    inst, now = ep.inst, ep.now
    message = message or f"Orchestrator function '{inst.name}' failed: {reason}"
    out = ep.out
    out.status, out.output = "Failed", json.dumps(message)
    details = {"ErrorType": error_type, "ErrorMessage": message}
    out.events.append(event(EventType.EXECUTION_COMPLETED, -1, timestamp(now),
                            OrchestrationStatus="Failed", Result=message, FailureDetails=details))
    out.events.append(event(EventType.ORCHESTRATOR_COMPLETED, -1, timestamp(now)))
    out.parent_message = _to_parent(inst, EventType.SUB_ORCHESTRATION_FAILED,
                                    Reason=message, Details=reason)
    return out


def _to_parent(inst: Instance, kind: EventType, **fields: Any) -> Event | None:
    if not inst.parent:
        return None
    return event(kind, -1, TaskScheduledId=inst.parent["task_id"], **fields)

