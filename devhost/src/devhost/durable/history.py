"""History events in the Durable Task Framework's shape, as the Python SDK reads them.

devhost adds two private keys to some scheduling events and strips them from what users see:
``Retry`` (the retry options and attempt number of a task scheduled with retry) and ``RetryOf``
(the event id whose failure a retry timer or re-attempt belongs to).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

Event = dict[str, Any]
PRIVATE_KEYS = ("Retry", "RetryOf")


class EventType(IntEnum):
    """DTFx ``EventType`` numbers."""

    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_CREATED = 7
    SUB_ORCHESTRATION_COMPLETED = 8
    SUB_ORCHESTRATION_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


SCHEDULING_TYPES = frozenset(
    {
        EventType.TASK_SCHEDULED,
        EventType.SUB_ORCHESTRATION_CREATED,
        EventType.TIMER_CREATED,
        EventType.EVENT_SENT,
    }
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with a ``Z``, as the extension writes timestamps."""
    moment = moment or utcnow()
    # isoformat is several times faster than strftime; with microseconds and UTC it ends in "+00:00".
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def parse_timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def event(kind: EventType, event_id: int = -1, when: str | None = None, **fields: Any) -> Event:
    """A history event with the keys every event carries."""
    return {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": when or timestamp(),
        **fields,
    }


def for_users(raw: Event, show_output: bool) -> Event:
    """The extension's user-facing shape of one event: named type, no private keys."""
    shown = {k: v for k, v in raw.items() if k not in PRIVATE_KEYS and k != "IsPlayed"}
    shown["EventType"] = _USER_NAMES.get(raw["EventType"], str(raw["EventType"]))
    if not show_output:
        shown.pop("Result", None)
    for key in ("Input", "Result"):
        if isinstance(shown.get(key), str):
            try:
                shown[key] = json.loads(shown[key])
            except ValueError:
                pass
    return shown


_USER_NAMES = {
    int(t): "".join(part.capitalize() for part in t.name.split("_")) for t in EventType
}
_USER_NAMES[int(EventType.SUB_ORCHESTRATION_CREATED)] = "SubOrchestrationInstanceCreated"
_USER_NAMES[int(EventType.SUB_ORCHESTRATION_COMPLETED)] = "SubOrchestrationInstanceCompleted"
_USER_NAMES[int(EventType.SUB_ORCHESTRATION_FAILED)] = "SubOrchestrationInstanceFailed"
