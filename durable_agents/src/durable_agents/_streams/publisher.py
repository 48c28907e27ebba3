"""Publishing a step's events without making the producer wait for each write."""

from __future__ import annotations

import asyncio
from typing import Any

from .base import StreamStore, check_event


class Publisher:
    """Appends one run's events in order; events published while a write is in flight go in the next one.

    A model streams tokens faster than one store round trip per token allows. Each event is still its own entry
    with its own cursor; only the writes are batched. Call ``flush`` before anything else appends to the run's
    stream, and before the step returns, so that order holds and nothing published is lost.
    """

    def __init__(self, store: StreamStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._pending: list[dict[str, Any]] = []
        self._writer: asyncio.Task[None] | None = None

    def publish(self, event: dict[str, Any]) -> None:
        """Queue one event for writing; raises the error of an earlier write that failed.

        Raising here, not only at ``flush``, stops a producer (a model streaming its answer) at the first failed
        write rather than after it has produced everything that can no longer be stored.
        """
        writer = self._writer
        if writer is not None and writer.done():
            failure = asyncio.CancelledError() if writer.cancelled() else writer.exception()
            if failure is not None:
                raise failure
        self._pending.append(check_event(event))
        if writer is None or writer.done():
            self._writer = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            await self.store.append_many(self.run_id, batch)

    async def flush(self) -> None:
        """Wait until every published event is stored; raises the error of a failed write."""
        if self._writer is not None:
            await self._writer
