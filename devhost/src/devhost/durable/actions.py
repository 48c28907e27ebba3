"""The orchestrator's actions: flattening compound actions and naming what each one schedules."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from .history import Event, EventType

Action = dict[str, Any]


class ActionType(IntEnum):
    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    WHEN_ANY = 11
    WHEN_ALL = 12


HTTP_ACTIVITY = "BuiltIn::HttpActivity"


def flatten(actions: list[list[Action]]) -> list[Action]:
    """Every atomic action that takes an event id, depth-first, in the order it was yielded.

    External-event waits take no id (they are matched by name), so they are left out.
    """
    flat: list[Action] = []

    def walk(action: Action) -> None:
        kind = action.get("actionType")
        if kind in (ActionType.WHEN_ANY, ActionType.WHEN_ALL):
            for child in action.get("compoundActions") or []:
                walk(child)
        elif kind != ActionType.WAIT_FOR_EXTERNAL_EVENT:
            flat.append(action)

    for group in actions or []:
        for action in group:
            walk(action)
    return flat


def describe_action(action: Action) -> tuple[str, str]:
    """(kind, name) of an action, to compare against what history recorded."""
    kind = action["actionType"]
    if kind in (ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY):
        return "activity", action.get("functionName", "")
    if kind in (ActionType.CALL_SUB_ORCHESTRATOR, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY):
        return "sub-orchestration", action.get("functionName", "")
    if kind == ActionType.CREATE_TIMER:
        return "timer", ""
    if kind in (ActionType.CALL_ENTITY, ActionType.SIGNAL_ENTITY):
        return "entity operation", f"{action.get('instanceId')}:{action.get('operation')}"
    if kind == ActionType.CALL_HTTP:
        return "activity", HTTP_ACTIVITY
    if kind == ActionType.CONTINUE_AS_NEW:
        return "continue-as-new", ""
    return f"action {kind}", ""


def describe_event(scheduled: Event) -> tuple[str, str]:
    """(kind, name) of a scheduling event, in the same terms as ``describe_action``."""
    kind = scheduled["EventType"]
    if kind == EventType.TASK_SCHEDULED:
        return "activity", scheduled.get("Name", "")
    if kind == EventType.SUB_ORCHESTRATION_CREATED:
        return "sub-orchestration", scheduled.get("Name", "")
    if kind == EventType.TIMER_CREATED:
        return "timer", ""
    if kind == EventType.EVENT_SENT:
        return "entity operation", f"{scheduled.get('InstanceId')}:{scheduled.get('Name')}"
    return f"event {kind}", ""


def label(kind: str, name: str) -> str:
    return f"{kind} '{name}'" if name else kind
