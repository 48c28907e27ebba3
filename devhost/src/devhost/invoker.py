"""Calling user code the way the Python worker does.

Async functions run on the host's one long-lived event loop (the durable SDK keeps a module-global
aiohttp session bound to it); sync functions run in a thread pool, where no event loop runs, so that they
run concurrently and may start event loops of their own (orchestrators and entities are sync functions).
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class Invoker:
    """Runs user functions: coroutines on the loop, plain functions on a bounded thread pool."""

    def __init__(self, threads: int | None = None) -> None:
        size = threads or int(os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT") or 0) or 32
        self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="devhost-fn")
        self._lock = threading.Lock()
        self.busy = 0  # sync calls running in a thread now

    async def call(self, fn: Callable[..., Any], is_async: bool, /, **kwargs: Any) -> Any:
        """Call ``fn`` with keyword arguments and return its result (exceptions propagate)."""
        if is_async:
            return await fn(**kwargs)
        return await self.submit(functools.partial(fn, **kwargs))

    def submit(self, fn: Callable[[], Any]) -> asyncio.Future[Any]:
        """Start the sync ``fn`` on the pool now; the future is the event loop's."""
        return asyncio.get_running_loop().run_in_executor(self._pool, self._run, fn)

    def _run(self, fn: Callable[[], Any]) -> Any:
        # Counted by the thread itself: a caller that stops waiting (a cancelled task) does not end the call.
        with self._lock:
            self.busy += 1
        try:
            return fn()
        finally:
            with self._lock:
                self.busy -= 1

    def shutdown(self) -> None:
        """Stop taking work; running calls finish in their threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)
