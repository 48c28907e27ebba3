"""An orchestration's history as a timeline: one span per task, sub-orchestration and timer, marks for the rest."""

from __future__ import annotations

import json
from typing import Any

from ..durable.history import Event, EventType

_OPENS = {
    EventType.TASK_SCHEDULED: "activity",
    EventType.SUB_ORCHESTRATION_CREATED: "sub-orchestration",
    EventType.TIMER_CREATED: "timer",
}
_CLOSES = {
    EventType.TASK_COMPLETED: ("TaskScheduledId", "completed"),
    EventType.TASK_FAILED: ("TaskScheduledId", "failed"),
    EventType.SUB_ORCHESTRATION_COMPLETED: ("TaskScheduledId", "completed"),
    EventType.SUB_ORCHESTRATION_FAILED: ("TaskScheduledId", "failed"),
    EventType.TIMER_FIRED: ("TimerId", "fired"),
}
_MARKS = {
    EventType.EXECUTION_STARTED: "started",
    EventType.EXECUTION_COMPLETED: "completed",
    EventType.EXECUTION_FAILED: "failed",
    EventType.EXECUTION_TERMINATED: "terminated",
    EventType.EXECUTION_SUSPENDED: "suspended",
    EventType.EXECUTION_RESUMED: "resumed",
    EventType.CONTINUE_AS_NEW: "continued as new",
    EventType.EVENT_RAISED: "event raised",
    EventType.EVENT_SENT: "event sent",
}


def _value(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def timeline(history: list[Event], finished: bool) -> dict[str, Any]:
    """``{"spans", "marks", "start", "end"}`` from raw history events, in the order they happened.

    A span that never closed is ``running``, or ``canceled`` once the orchestration has finished (a timer it
    stopped waiting for, say).
    """
    spans: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    by_id: dict[int, dict[str, Any]] = {}
    for ev in history:
        kind, at = ev["EventType"], ev["Timestamp"]
        if kind in _OPENS:
            span = {"kind": _OPENS[kind], "id": ev["EventId"], "name": ev.get("Name"), "start": at, "end": None,
                    "status": "running", "input": _value(ev.get("Input"))}
            if kind == EventType.TIMER_CREATED:
                span["name"] = "retry delay" if "RetryOf" in ev else "durable timer"
                span["fireAt"] = ev.get("FireAt")
            if kind == EventType.SUB_ORCHESTRATION_CREATED:
                span["instanceId"] = ev.get("InstanceId")
            if ev.get("Retry"):
                span["attempt"] = ev["Retry"].get("attempt")
            by_id[ev["EventId"]] = span
            spans.append(span)
        elif kind in _CLOSES:
            key, status = _CLOSES[kind]
            span = by_id.get(ev.get(key, -1))
            if span is not None:
                span.update(end=at, status=status)
                if "Result" in ev:
                    span["result"] = _value(ev["Result"])
                if ev.get("Reason"):
                    span["failure"] = ev["Reason"]
        elif kind in _MARKS:
            mark = {"kind": _MARKS[kind], "time": at, "name": ev.get("Name")}
            if kind == EventType.EXECUTION_COMPLETED and ev.get("OrchestrationStatus") == "Failed":
                mark["kind"] = "failed"  # how a failed orchestration's history ends
            if kind == EventType.EVENT_SENT:
                mark["target"] = ev.get("InstanceId")
            if kind == EventType.EVENT_RAISED:
                mark["data"] = _value(ev.get("Input"))
            if kind == EventType.EXECUTION_TERMINATED:
                mark["reason"] = _value(ev.get("Input"))
            marks.append(mark)
    for span in spans:
        if span["end"] is None and finished:
            span["status"] = "canceled"
    times = [ev["Timestamp"] for ev in history]
    return {"spans": spans, "marks": marks, "start": min(times, default=None), "end": max(times, default=None)}
