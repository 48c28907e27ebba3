"""Timer-triggered functions: fired on their NCRONTAB schedule, and at start when asked."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from azure.functions.timer import TimerRequest

from .functions import Function
from .invoker import Invoker
from .ncrontab import Schedule

log = logging.getLogger("devhost.timers")


class TimerTriggers:
    """Runs each timer function on its own schedule until stopped; a failure is logged, not fatal."""

    def __init__(self, functions: list[Function], invoker: Invoker,
                 extra_args: Callable[[Function], dict[str, Any]]) -> None:
        self.invoker = invoker
        self.extra_args = extra_args
        self.schedules = [(f, Schedule.parse(str(f.trigger["schedule"]))) for f in functions]
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for function, schedule in self.schedules:
            self._tasks.append(asyncio.ensure_future(self._run(function, schedule)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _fire(self, function: Function, past_due: bool) -> None:
        request = TimerRequest(past_due=past_due)
        try:
            await self.invoker.call(function.user_function, function.is_async,
                                    **{function.trigger_arg: request}, **self.extra_args(function))
            log.info("timer function %s ran", function.name)
        except Exception:
            log.exception("timer function %s failed", function.name)

    async def _run(self, function: Function, schedule: Schedule) -> None:
        if function.trigger.get("runOnStartup"):
            await self._fire(function, past_due=False)
        while True:
            now = datetime.now(UTC).replace(tzinfo=None)
            due = schedule.next_after(now)
            await asyncio.sleep((due - now).total_seconds())
            await self._fire(function, past_due=False)
