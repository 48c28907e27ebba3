"""The stream store interface: one append-only stream of events per run, read by cursor.

An event is ``{"type", "data", "step"?}``. ``append`` returns the event's cursor; ``read(after=cursor)``
returns exactly the events after it, in order, with no gaps and no duplicates, waiting up to ``block``
seconds for the first one. A stream expires ``ttl`` after its last append.

Beside the streams, the store keeps memos: small JSON values under a key, first writer wins, each with its own
expiry. Steps journal their results in them and the HTTP API its idempotency keys.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

EVENT_TYPES = frozenset(
    {"delta", "tool_call", "tool_result", "approval_required", "status", "step_restart", "done", "error"}
)
FINAL_TYPES = frozenset({"done", "error"})


@dataclass(frozen=True)
class Entry:
    """One stored event and the cursor that points at it."""

    cursor: str
    event: dict[str, Any]


class StreamStore(ABC):
    """Redis Streams in Azure, or the embedded store when no Redis is configured."""

    kind: str

    async def append(self, run_id: str, event: dict[str, Any]) -> str:
        """Add one event; returns its cursor. Refreshes the stream's TTL."""
        return (await self.append_many(run_id, [event]))[0]

    @abstractmethod
    async def append_many(self, run_id: str, events: list[dict[str, Any]]) -> list[str]:
        """Add events in order, in one write; returns their cursors. Refreshes the stream's TTL."""

    @abstractmethod
    async def read(self, run_id: str, after: str | None, block: float = 0.0, limit: int = 1000) -> list[Entry]:
        """Events after ``after`` (from the start when None), waiting up to ``block`` s for one."""

    @abstractmethod
    async def last(self, run_id: str) -> Entry | None:
        """The stream's newest event, None when the stream is empty or gone."""

    async def end(self, run_id: str, message: str) -> None:
        """Close the stream with an ``error`` event, unless it already ended with ``done`` or ``error``.

        For runs that stop without saying so themselves (canceled, terminated): readers stop at the first final
        event, so a final event written by someone else in between is at worst followed by a second one.
        """
        last = await self.last(run_id)
        if last is None or last.event["type"] not in FINAL_TYPES:
            await self.append(run_id, {"type": "error", "data": {"message": message}})

    @abstractmethod
    async def step_started(self, run_id: str, step: str) -> bool:
        """Record that ``step`` has started; True when it had already started (this is a retry)."""

    @abstractmethod
    async def remember(self, key: str, value: Any, ttl: float) -> Any:
        """Keep ``value`` under ``key`` for ``ttl`` seconds unless a live value is there; returns the value kept.

        Atomic across processes: of concurrent calls with one key, all get the first writer's value.
        """

    @abstractmethod
    async def recall(self, key: str) -> Any | None:
        """The live value under ``key``, None when there is none."""

    @abstractmethod
    async def ttl(self, run_id: str) -> float | None:
        """Seconds until the stream expires, None when it does not exist."""

    @abstractmethod
    async def describe(self) -> dict[str, Any]:
        """What ``/api/health`` shows: the kind of store, where it is, and whether it answers."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""


def check_event(event: dict[str, Any]) -> dict[str, Any]:
    if event.get("type") not in EVENT_TYPES:
        raise ValueError(f"unknown stream event type {event.get('type')!r}")
    return event
