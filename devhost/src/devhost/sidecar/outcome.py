"""A worker's answer to a work item as the writes an in-process episode or entity batch would make.

The SDK allocates event ids itself and returns only the actions that history does not confirm yet
(``durabletask/worker.py`` ``_RuntimeOrchestrationContext.get_actions``), so each action becomes one scheduling
event with the action's id, plus the work it asks for; retries are the SDK's own timers and re-schedules.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import durabletask.internal.orchestrator_service_pb2 as pb

from ..durable.entities import BatchResult
from ..durable.episode import Outcome, entity_instance_id
from ..durable.history import Event, EventType, event, timestamp
from ..durable.instance import Instance
from .convert import STATUS_NAME, failure_from_proto, from_timestamp, opt, raised_from_proto


class Unsupported(Exception):
    """An action devhost does not carry out; the orchestration fails with this message."""


def episode_outcome(inst: Instance, new: list[Event], now: datetime, response: pb.OrchestratorResponse) -> Outcome:
    """The outcome of one episode: ``new`` (OrchestratorStarted and the events the worker got) plus the actions."""
    when = timestamp(now)
    custom = opt(response, "customStatus")
    out = Outcome(events=list(new), status="Running", output=inst.output, custom_status=custom)
    try:
        for action in response.actions:
            _apply_action(inst, out, action, when)
    except Unsupported as exc:
        return failed(inst, new, now, {"ErrorType": "NotSupported", "ErrorMessage": str(exc),
                                       "IsNonRetriable": True}, custom)
    out.events.append(event(EventType.ORCHESTRATOR_COMPLETED, -1, when))
    return out


def failed(inst: Instance, new: list[Event], now: datetime, details: dict[str, Any],
           custom_status: str | None = None) -> Outcome:
    """An episode that ends the orchestration as Failed with ``details``."""
    out = Outcome(events=list(new), status="Running", output=inst.output, custom_status=custom_status)
    _complete_failed(inst, out, details, timestamp(now))
    out.events.append(event(EventType.ORCHESTRATOR_COMPLETED, -1, timestamp(now)))
    return out


def _apply_action(inst: Instance, out: Outcome, action: pb.OrchestratorAction, when: str) -> None:
    kind, number = action.WhichOneof("orchestratorActionType"), action.id
    if kind == "scheduleTask":
        task = action.scheduleTask
        input_text = opt(task, "input")
        out.events.append(event(EventType.TASK_SCHEDULED, number, when, Name=task.name, Input=input_text,
                                Version=opt(task, "version")))
        out.tasks.append(("activity", number, task.name, input_text))
    elif kind == "createSubOrchestration":
        child = action.createSubOrchestration
        child_id = child.instanceId or f"{inst.id}:{number:04d}"
        input_text, version = opt(child, "input"), opt(child, "version")
        out.events.append(event(EventType.SUB_ORCHESTRATION_CREATED, number, when, Name=child.name,
                                InstanceId=child_id, Input=input_text, Version=version))
        out.children.append((child_id, child.name, input_text, number, version))
    elif kind == "createTimer":
        fire_at = timestamp(from_timestamp(action.createTimer.fireAt))
        out.events.append(event(EventType.TIMER_CREATED, number, when, FireAt=fire_at))
        out.timers.append((fire_at, event(EventType.TIMER_FIRED, -1, TimerId=number, FireAt=fire_at)))
    elif kind == "sendEvent":
        sent = action.sendEvent
        data = opt(sent, "data")
        out.events.append(event(EventType.EVENT_SENT, number, when, InstanceId=sent.instance.instanceId,
                                Name=sent.name, Input=data))
        out.messages.append((sent.instance.instanceId, event(EventType.EVENT_RAISED, -1, Name=sent.name,
                                                             Input=data)))
    elif kind == "sendEntityMessage":
        _entity_message(inst, out, number, action.sendEntityMessage, when)
    elif kind == "completeOrchestration":
        _complete(inst, out, action.completeOrchestration, when)
    else:
        raise Unsupported(f"devhost does not carry out the orchestrator action '{kind}' yet")


def _entity_message(inst: Instance, out: Outcome, number: int, message: pb.SendEntityMessageAction,
                    when: str) -> None:
    """An entity message in the legacy shape (DurableTask.Core's RequestMessage and ReleaseMessage, as the
    Durable Task SDKs encode them for older backends: durabletask-dotnet ``EntityConversions``), which is also
    what the Python SDK replays: ``EventSent`` to the entity, its result an ``EventRaised`` named by the request.
    The event names the target as the SDK sent it (it compares them on replay); the queue uses devhost's id."""
    kind = message.WhichOneof("EntityMessageType")
    if kind == "entityLockRequested":
        _lock_requested(inst, out, number, message.entityLockRequested, when)
        return
    if kind == "entityUnlockSent":
        unlock = message.entityUnlockSent
        target = unlock.targetInstanceId.value
        out.events.append(event(EventType.EVENT_SENT, number, when, InstanceId=target, Name="release",
                                Input=json.dumps({"id": unlock.criticalSectionId, "parent": inst.id})))
        out.entity_ops.append((entity_instance_id(target),
                               {"release": {"section": unlock.criticalSectionId, "owner": inst.id}}))
        return
    if kind == "entityOperationSignaled":
        op: Any = message.entityOperationSignaled
        caller = None
    elif kind == "entityOperationCalled":
        op = message.entityOperationCalled
        caller = {"hub": inst.hub, "id": inst.id, "execution": inst.execution, "guid": op.requestId}
    else:
        raise Unsupported(f"devhost does not carry out the entity message '{kind}'")
    target, input_text = op.targetInstanceId.value, opt(op, "input")
    request_id = op.requestId or str(uuid.uuid4())
    body: dict[str, Any] = {"op": op.operation, "id": request_id, "input": input_text, "parent": inst.id,
                            "signal": caller is None}
    queued: dict[str, Any] = {"name": op.operation, "input": input_text, "isSignal": caller is None,
                              "caller": caller, "id": request_id}
    if op.HasField("scheduledTime"):  # signal_time: the entity gets it then
        body["due"] = queued["due"] = timestamp(from_timestamp(op.scheduledTime))
    out.events.append(event(EventType.EVENT_SENT, number, when, InstanceId=target, Name=op.operation,
                            Input=json.dumps(body)))
    out.entity_ops.append((entity_instance_id(target), queued))


def _lock_requested(inst: Instance, out: Outcome, number: int, lock: pb.EntityLockRequestedEvent, when: str) -> None:
    """``lock_entities``: the request goes to the first entity of the (sorted) lock set, which passes it on once it
    is locked; the last one tells the orchestration, with an ``EventRaised`` named by the critical section."""
    if not 0 <= lock.position < len(lock.lockSet):
        raise Unsupported(f"lock request {lock.criticalSectionId} has no entity at position {lock.position}")
    targets = [entity_instance_id(entity) for entity in lock.lockSet]
    body = {"op": None, "id": lock.criticalSectionId, "lockset": list(lock.lockSet), "pos": lock.position,
            "parent": inst.id}
    # The SDK checks on replay that this event went to lockSet[position].
    out.events.append(event(EventType.EVENT_SENT, number, when, InstanceId=lock.lockSet[lock.position], Name="op",
                            Input=json.dumps(body)))
    owner = {"hub": inst.hub, "id": inst.id, "execution": inst.execution}
    out.entity_ops.append((targets[lock.position], {"lock": {"section": lock.criticalSectionId, "set": targets,
                                                             "position": lock.position, "owner": owner}}))


def _complete(inst: Instance, out: Outcome, done: pb.CompleteOrchestrationAction, when: str) -> None:
    status = STATUS_NAME.get(done.orchestrationStatus, "Completed")
    result = opt(done, "result")
    if status == "ContinuedAsNew":
        out.continue_as_new = result if result is not None else "null"
        out.carryover = [raised_from_proto(ev, when) for ev in done.carryoverEvents if ev.HasField("eventRaised")]
        out.new_version = opt(done, "newVersion")
        return
    if status == "Failed":
        _complete_failed(inst, out, failure_from_proto(done.failureDetails), when)
        return
    # Completed, or Terminated as the SDK reports a termination it saw (devhost terminates before an episode).
    out.status, out.output = ("Terminated" if status == "Terminated" else "Completed"), result
    out.events.append(event(EventType.EXECUTION_COMPLETED, -1, when, OrchestrationStatus=out.status, Result=result))
    if inst.parent:
        out.parent_message = event(EventType.SUB_ORCHESTRATION_COMPLETED, -1, TaskScheduledId=inst.parent["task_id"],
                                   Result=result)


def _complete_failed(inst: Instance, out: Outcome, details: dict[str, Any], when: str) -> None:
    message = details.get("ErrorMessage") or details.get("ErrorType") or "the orchestration failed"
    out.status, out.output = "Failed", json.dumps(message)
    out.events.append(event(EventType.EXECUTION_COMPLETED, -1, when, OrchestrationStatus="Failed",
                            Result=message, FailureDetails=details))
    if inst.parent:
        out.parent_message = event(EventType.SUB_ORCHESTRATION_FAILED, -1, TaskScheduledId=inst.parent["task_id"],
                                   Reason=message, Details=details.get("StackTrace"), FailureDetails=details)


def batch_result(result: pb.EntityBatchResult, state: str | None, exists: bool, count: int) -> BatchResult:
    """An entity batch's results, state and side effects; a batch that failed as a whole changes nothing."""
    if result.HasField("failureDetails") and (result.failureDetails.errorMessage or result.failureDetails.errorType):
        details = failure_from_proto(result.failureDetails)
        error = {"isError": True, "result": json.dumps(details["ErrorMessage"]), "failureDetails": details}
        return BatchResult(state, exists, [error for _ in range(count)])
    results: list[dict[str, Any]] = []
    for item in result.results:
        if item.HasField("failure"):
            details = failure_from_proto(item.failure.failureDetails)
            results.append({"isError": True, "result": json.dumps(details["ErrorMessage"]),
                            "failureDetails": details})
        else:
            results.append({"isError": False, "result": opt(item.success, "result")})
    missing = {"isError": True, "result": json.dumps("the worker sent no result for this operation")}
    results += [missing] * (count - len(results))
    signals: list[tuple[str, dict[str, Any]]] = []
    starts: list[tuple[str, str, str | None, str | None]] = []
    for action in result.actions:
        if action.HasField("sendSignal"):
            signal = action.sendSignal
            queued: dict[str, Any] = {"name": signal.name, "input": opt(signal, "input"), "isSignal": True,
                                      "caller": None}
            if signal.HasField("scheduledTime"):
                queued["due"] = timestamp(from_timestamp(signal.scheduledTime))
            signals.append((signal.instanceId, queued))
        elif action.HasField("startNewOrchestration"):
            start = action.startNewOrchestration
            starts.append((start.instanceId or uuid.uuid4().hex, start.name, opt(start, "input"),
                           opt(start, "version")))
    new_state = opt(result, "entityState")
    return BatchResult(new_state, new_state is not None, results[:count], signals, starts)
