"""Instance status bodies as the Durable HTTP API returns them."""

from __future__ import annotations

import json
from typing import Any

from .history import Event, EventType, for_users
from .instance import Instance

_COMPLETIONS = {
    EventType.TASK_COMPLETED: EventType.TASK_SCHEDULED,
    EventType.TASK_FAILED: EventType.TASK_SCHEDULED,
    EventType.SUB_ORCHESTRATION_COMPLETED: EventType.SUB_ORCHESTRATION_CREATED,
    EventType.SUB_ORCHESTRATION_FAILED: EventType.SUB_ORCHESTRATION_CREATED,
}
_HIDDEN = (EventType.ORCHESTRATOR_STARTED, EventType.ORCHESTRATOR_COMPLETED)


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def user_history(history: list[Event], show_output: bool) -> list[Event]:
    """History as users see it: completions named after their task, matched schedules dropped."""
    scheduled = {e["EventId"]: e for e in history if e["EventType"] in _COMPLETIONS.values()}
    matched: set[int] = set()
    shown: list[Event] = []
    for ev in history:
        kind = ev["EventType"]
        if kind in _HIDDEN:
            continue
        if kind in _COMPLETIONS:
            origin = scheduled.get(ev.get("TaskScheduledId", -1))
            if origin is not None:
                matched.add(id(origin))
                ev = {**ev, "FunctionName": origin.get("Name"), "ScheduledTime": origin["Timestamp"]}
                if origin.get("InstanceId"):
                    ev["InstanceId"] = origin["InstanceId"]
        shown.append(ev)
    return [for_users(e, show_output) for e in shown if id(e) not in matched]


def status_body(
    inst: Instance, history: list[Event] | None, show_input: bool, show_output: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": inst.name,
        "instanceId": inst.id,
        "runtimeStatus": inst.status,
        "input": _json(inst.input) if show_input else None,
        "customStatus": _json(inst.custom_status),
        "output": _json(inst.output),
        "createdTime": inst.created,
        "lastUpdatedTime": inst.updated,
    }
    if inst.version is not None:
        body["version"] = inst.version
    if history is not None:
        body["historyEvents"] = user_history(history, show_output)
    return body
