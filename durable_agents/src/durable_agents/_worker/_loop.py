"""One event loop for all of the app's async code in a worker process.

The library's async code (model calls, stream stores, the durable client) runs where the Functions worker would run
it: on one long-lived loop. The Durable Task SDK calls activities from its thread pool; an async activity is handed
to this loop and its thread waits for the result, so several activities run at once on the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class UserLoop:
    """An event loop in a daemon thread of its own, started on first use.

    Its default executor (``asyncio.to_thread``: sync tools, the durable client's gRPC calls) has ``threads``
    threads, so that a few long tools do not hold up every other step's calls.
    """

    def __init__(self, threads: int) -> None:
        self._threads = threads
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._loop.set_default_executor(ThreadPoolExecutor(self._threads, "durable-agents-thread"))
                self._thread = threading.Thread(target=self._loop.run_forever, name="durable-agents-loop",
                                                daemon=True)
                self._thread.start()
            return self._loop

    def submit(self, work: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule ``work`` on the loop without waiting for it."""
        return asyncio.run_coroutine_threadsafe(work, self.loop)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the loop and wait for its result from another thread."""
        if self._thread is not None and threading.current_thread() is self._thread:
            work.close()
            raise RuntimeError("UserLoop.run was called from the loop's own thread: await the coroutine instead")
        return self.submit(work).result()

    def close(self) -> None:
        """Stop the loop once the work on it has been cancelled; a closed UserLoop starts afresh when used again."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None:
            return

        async def cancel_all() -> None:
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for pending in others:
                pending.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()  # which shuts its executor down without waiting for a tool still running
