"""azure-functions-durable activity functions, unchanged, as Durable Task SDK activities.

The SDK calls ``(ctx, input)``; the df function takes its input by its binding's argument name and, when it has a
durable client binding, the client by that name. Async functions run on the worker's one ``UserLoop``. An activity
is at-least-once on both hosts: its result is committed by the scheduler when it returns, and an activity that was
running when its worker died runs again.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from durabletask import task

from ._client import DurableClient
from ._loop import UserLoop


def activity(fn: Callable[..., Any], name: str, input_arg: str, client_arg: str | None,
             client: Callable[[], DurableClient], loop: UserLoop) -> task.Activity[Any, Any]:
    """The SDK activity named ``name`` that calls ``fn(**{input_arg: input, client_arg: client()})``."""
    is_async = inspect.iscoroutinefunction(fn)

    def run(ctx: task.ActivityContext, value: Any) -> Any:
        arguments = {input_arg: value}
        if client_arg is not None:
            arguments[client_arg] = client()
        return loop.run(fn(**arguments)) if is_async else fn(**arguments)

    run.__name__ = run.__qualname__ = name
    return run
