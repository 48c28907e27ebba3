"""The engine's in-memory view of one orchestration instance."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .history import SCHEDULING_TYPES, Event, EventType

TERMINAL = frozenset({"Completed", "Failed", "Terminated"})


@dataclass
class Instance:
    """One orchestration instance: its row, its history and what history implies.

    ``scheduled`` maps each allocated event id to the event that scheduled it; ``primaries`` lists
    the scheduling events made for the orchestrator's own actions (not for retries), in id order, so
    that replayed actions can be checked against them.
    """

    hub: str
    id: str
    name: str
    status: str
    input: str | None
    output: str | None
    custom_status: str | None
    created: str
    updated: str
    parent: dict[str, Any] | None
    execution: int
    version: str | None = None
    history: list[Event] = field(default_factory=list)
    scheduled: dict[int, Event] = field(default_factory=dict)
    primaries: list[Event] = field(default_factory=list)
    next_id: int = 0
    replay_texts: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.hub, self.id)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @classmethod
    def from_row(cls, row: dict[str, Any], history: list[Event]) -> Instance:
        inst = cls(**row)
        inst.reset_history()
        for ev in history:
            inst.record(ev)
        return inst

    def reset_history(self) -> None:
        self.history = []
        self.scheduled = {}
        self.primaries = []
        self.next_id = 0
        self.replay_texts = []

    def record(self, ev: Event) -> None:
        """Append one event to history and keep the derived indexes in step."""
        self.history.append(ev)
        kind = ev["EventType"]
        if kind in SCHEDULING_TYPES:
            self.scheduled[ev["EventId"]] = ev
            self.next_id = max(self.next_id, ev["EventId"] + 1)
            if "RetryOf" not in ev:
                self.primaries.append(ev)
        if kind in _REPLAYED:
            # Serialised once: each episode sends the whole history, and only the new part is new.
            self.replay_texts.append(json.dumps({**ev, "IsPlayed": True}))

    def row(self) -> dict[str, Any]:
        return {
            "hub": self.hub, "id": self.id, "name": self.name, "status": self.status,
            "input": self.input, "output": self.output, "custom_status": self.custom_status,
            "created": self.created, "updated": self.updated, "parent": self.parent,
            "execution": self.execution, "version": self.version,
        }


_REPLAYED = frozenset(
    {
        EventType.EXECUTION_STARTED, EventType.TASK_COMPLETED, EventType.TASK_FAILED,
        EventType.SUB_ORCHESTRATION_COMPLETED, EventType.SUB_ORCHESTRATION_FAILED,
        EventType.TIMER_FIRED, EventType.ORCHESTRATOR_STARTED, EventType.EVENT_SENT,
        EventType.EVENT_RAISED, EventType.CONTINUE_AS_NEW,
    }
)
