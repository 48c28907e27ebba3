"""devhost's stored history (Durable Task Framework JSON) as the protocol's protobuf ``HistoryEvent`` and back.

devhost keeps one history shape for every instance: the DTFx JSON the Functions path already writes (PascalCase
keys, ``EventType`` numbers). The protocol's ``HistoryEvent`` is the same DTFx event in protobuf, so each event
maps field by field. Entity messages are kept in the legacy shape (``EventSent`` to ``@name@key`` with
``{"op","id","input","parent"}``, the result as ``EventRaised`` named by the request id; a lock request and a
release are ``EventSent`` named ``op`` and ``release``, the grant an ``EventRaised`` named by the critical section),
which the Python SDK replays as it does for Durable Functions (``durabletask/worker.py``, the ``eventSent`` and
``eventRaised`` cases).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import durabletask.internal.orchestrator_service_pb2 as pb
from google.protobuf import json_format, struct_pb2, timestamp_pb2, wrappers_pb2

from ..durable.history import Event, EventType, event, parse_timestamp

# devhost's runtime status names and the protocol's enum (orchestrator_service.proto, OrchestrationStatus).
STATUS = {
    "Running": pb.ORCHESTRATION_STATUS_RUNNING,
    "Completed": pb.ORCHESTRATION_STATUS_COMPLETED,
    "ContinuedAsNew": pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW,
    "Failed": pb.ORCHESTRATION_STATUS_FAILED,
    "Terminated": pb.ORCHESTRATION_STATUS_TERMINATED,
    "Pending": pb.ORCHESTRATION_STATUS_PENDING,
    "Suspended": pb.ORCHESTRATION_STATUS_SUSPENDED,
}
STATUS_NAME = {number: name for name, number in STATUS.items()}
EXECUTION_REWOUND = 21  # DTFx EventType after ExecutionResumed (docs/durable-protocol.md, section 2)


def text(value: str | None) -> wrappers_pb2.StringValue | None:
    """A ``StringValue`` for a present value; protobuf leaves an absent one unset."""
    return None if value is None else wrappers_pb2.StringValue(value=value)


def opt(message: Any, name: str) -> str | None:
    """An optional ``StringValue`` field's text, None when unset."""
    return getattr(message, name).value if message.HasField(name) else None


def to_timestamp(value: str | datetime) -> timestamp_pb2.Timestamp:
    moment = parse_timestamp(value) if isinstance(value, str) else value
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def from_timestamp(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def failure_from_proto(details: pb.TaskFailureDetails) -> dict[str, Any]:
    """Failure details in DTFx's ``FailureDetails`` JSON keys (what the SDK reads back from entity responses)."""
    out: dict[str, Any] = {"ErrorType": details.errorType, "ErrorMessage": details.errorMessage,
                           "IsNonRetriable": details.isNonRetriable}
    if details.HasField("stackTrace"):
        out["StackTrace"] = details.stackTrace.value
    if details.HasField("innerFailure"):
        out["InnerFailure"] = failure_from_proto(details.innerFailure)
    if details.properties:
        out["Properties"] = {key: json_format.MessageToDict(value) for key, value in details.properties.items()}
    return out


def failure_to_proto(details: dict[str, Any]) -> pb.TaskFailureDetails:
    out = pb.TaskFailureDetails(errorType=str(details.get("ErrorType") or ""),
                                errorMessage=str(details.get("ErrorMessage") or ""),
                                isNonRetriable=bool(details.get("IsNonRetriable")))
    if details.get("StackTrace") is not None:
        out.stackTrace.value = str(details["StackTrace"])
    if isinstance(details.get("InnerFailure"), dict):
        out.innerFailure.CopyFrom(failure_to_proto(details["InnerFailure"]))
    for key, value in (details.get("Properties") or {}).items():
        out.properties[key].CopyFrom(json_format.ParseDict(value, struct_pb2.Value()))
    return out


def event_failure(ev: Event) -> dict[str, Any]:
    """The failure details of a failed event; the Functions path writes only ``Reason`` and ``Details``."""
    if isinstance(ev.get("FailureDetails"), dict):
        return ev["FailureDetails"]
    details: dict[str, Any] = {"ErrorType": "TaskFailedException", "ErrorMessage": str(ev.get("Reason") or "")}
    if ev.get("Details"):
        details["StackTrace"] = str(ev["Details"])
    return details


def _terminated_text(value: Any) -> str | None:
    # Termination reasons are stored as values (the HTTP API's reason is plain text), the protocol carries JSON.
    return None if value is None else json.dumps(value)


def to_proto(ev: Event) -> pb.HistoryEvent:
    """One stored event as the protocol's ``HistoryEvent``."""
    out = pb.HistoryEvent(eventId=int(ev.get("EventId", -1)), timestamp=to_timestamp(ev["Timestamp"]))
    kind = ev["EventType"]
    if kind == EventType.EXECUTION_STARTED:
        started = out.executionStarted
        started.name = ev.get("Name") or ""
        set_text(started, "version", ev.get("Version"))
        set_text(started, "input", ev.get("Input"))
        started.orchestrationInstance.instanceId = (ev.get("OrchestrationInstance") or {}).get("InstanceId", "")
        parent = ev.get("ParentInstance")
        if parent:
            started.parentInstance.orchestrationInstance.instanceId = parent.get("InstanceId", "")
            started.parentInstance.taskScheduledId = int(parent.get("TaskScheduledId", -1))
        if ev.get("ScheduledStartTime"):
            started.scheduledStartTimestamp.CopyFrom(to_timestamp(ev["ScheduledStartTime"]))
    elif kind == EventType.EXECUTION_COMPLETED:
        status = ev.get("OrchestrationStatus") or "Completed"
        out.executionCompleted.orchestrationStatus = STATUS.get(status, pb.ORCHESTRATION_STATUS_COMPLETED)
        result = _terminated_text(ev.get("Result")) if status == "Terminated" else ev.get("Result")
        set_text(out.executionCompleted, "result", result)
        if status == "Failed":
            out.executionCompleted.failureDetails.CopyFrom(failure_to_proto(event_failure(ev)))
    elif kind == EventType.EXECUTION_TERMINATED:
        set_text(out.executionTerminated, "input", _terminated_text(ev.get("Input")))
    elif kind == EventType.TASK_SCHEDULED:
        out.taskScheduled.name = ev.get("Name") or ""
        set_text(out.taskScheduled, "version", ev.get("Version"))
        set_text(out.taskScheduled, "input", ev.get("Input"))
    elif kind == EventType.TASK_COMPLETED:
        out.taskCompleted.taskScheduledId = int(ev["TaskScheduledId"])
        set_text(out.taskCompleted, "result", ev.get("Result"))
    elif kind == EventType.TASK_FAILED:
        out.taskFailed.taskScheduledId = int(ev["TaskScheduledId"])
        out.taskFailed.failureDetails.CopyFrom(failure_to_proto(event_failure(ev)))
    elif kind == EventType.SUB_ORCHESTRATION_CREATED:
        created = out.subOrchestrationInstanceCreated
        created.instanceId, created.name = ev.get("InstanceId") or "", ev.get("Name") or ""
        set_text(created, "version", ev.get("Version"))
        set_text(created, "input", ev.get("Input"))
    elif kind == EventType.SUB_ORCHESTRATION_COMPLETED:
        out.subOrchestrationInstanceCompleted.taskScheduledId = int(ev["TaskScheduledId"])
        set_text(out.subOrchestrationInstanceCompleted, "result", ev.get("Result"))
    elif kind == EventType.SUB_ORCHESTRATION_FAILED:
        out.subOrchestrationInstanceFailed.taskScheduledId = int(ev["TaskScheduledId"])
        out.subOrchestrationInstanceFailed.failureDetails.CopyFrom(failure_to_proto(event_failure(ev)))
    elif kind == EventType.TIMER_CREATED:
        out.timerCreated.fireAt.CopyFrom(to_timestamp(ev["FireAt"]))
    elif kind == EventType.TIMER_FIRED:
        out.timerFired.timerId = int(ev["TimerId"])
        out.timerFired.fireAt.CopyFrom(to_timestamp(ev["FireAt"]))
    elif kind == EventType.ORCHESTRATOR_STARTED:
        out.orchestratorStarted.SetInParent()
    elif kind == EventType.ORCHESTRATOR_COMPLETED:
        out.orchestratorCompleted.SetInParent()
    elif kind == EventType.EVENT_SENT:
        out.eventSent.instanceId, out.eventSent.name = ev.get("InstanceId") or "", ev.get("Name") or ""
        set_text(out.eventSent, "input", ev.get("Input"))
    elif kind == EventType.EVENT_RAISED:
        out.eventRaised.name = ev.get("Name") or ""
        set_text(out.eventRaised, "input", ev.get("Input"))
    elif kind == EventType.CONTINUE_AS_NEW:
        set_text(out.continueAsNew, "input", ev.get("Input"))
    elif kind == EventType.EXECUTION_SUSPENDED:
        out.executionSuspended.SetInParent()
        set_text(out.executionSuspended, "input", _plain(ev.get("Input")))
    elif kind == EventType.EXECUTION_RESUMED:
        out.executionResumed.SetInParent()
        set_text(out.executionResumed, "input", _plain(ev.get("Input")))
    elif kind == EXECUTION_REWOUND:
        out.executionRewound.SetInParent()
        set_text(out.executionRewound, "reason", _plain(ev.get("Reason")))
    else:  # GenericEvent (devhost's rewind wake-up) and anything else: an event the SDK skips on replay
        out.genericEvent.SetInParent()
        set_text(out.genericEvent, "data", _plain(ev.get("Reason") or ev.get("Name")))
    return out


def _plain(value: Any) -> str | None:
    return None if value is None else value if isinstance(value, str) else json.dumps(value)


def set_text(message: Any, name: str, value: str | None) -> None:
    """Set an optional ``StringValue`` field when there is a value."""
    if value is not None:
        getattr(message, name).value = value


def raised_from_proto(ev: pb.HistoryEvent, when: str) -> Event:
    """An ``eventRaised`` the SDK carries over through continue-as-new, as a stored event."""
    return event(EventType.EVENT_RAISED, -1, when, Name=ev.eventRaised.name, Input=opt(ev.eventRaised, "input"))
