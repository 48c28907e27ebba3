"""Rewinding a failed orchestration: its history without the failures that ended it, and what runs again.

As the Durable Task Framework rewinds: the failed ExecutionCompleted goes, and so does every final failure of an
activity or sub-orchestration (one with no retry after it), with the retry timer that followed it. The scheduling
events stay, so event ids and the replayed actions are unchanged: the orchestrator waits on those tasks again while
the activities run again and failed sub-orchestrations are rewound in turn.
"""

from __future__ import annotations

from .episode import FAILURE_TYPES
from .history import SCHEDULING_TYPES, Event, EventType

_RETRIED_TYPES = (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_CREATED)


def rewound(history: list[Event]) -> tuple[list[Event], list[Event]]:
    """(the history to keep, the scheduling events of the failed tasks to run again, in id order)."""
    scheduled = {e["EventId"]: e for e in history if e["EventType"] in SCHEDULING_TYPES}
    retried = {e["RetryOf"] for e in history if e["EventType"] in _RETRIED_TYPES and "RetryOf" in e}
    final = {e["TaskScheduledId"] for e in history
             if e["EventType"] in FAILURE_TYPES and e["TaskScheduledId"] not in retried}
    timers = {e["EventId"] for e in history if e["EventType"] == EventType.TIMER_CREATED and e.get("RetryOf") in final}

    def undone(ev: Event) -> bool:
        kind = ev["EventType"]
        return (kind == EventType.EXECUTION_COMPLETED
                or (kind in FAILURE_TYPES and ev["TaskScheduledId"] in final)
                or (kind == EventType.TIMER_CREATED and ev["EventId"] in timers)
                or (kind == EventType.TIMER_FIRED and ev["TimerId"] in timers))

    return [ev for ev in history if not undone(ev)], [scheduled[i] for i in sorted(final)]
