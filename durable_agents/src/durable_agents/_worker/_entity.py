"""azure-functions-durable entity functions, unchanged, as Durable Task SDK entities.

The SDK calls an entity once per operation with its ``EntityContext``; the df function reads and writes through a
``DurableEntityContext``-shaped view of it. Each operation's state change is committed by the scheduler together
with its result, exactly once, as on Functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from durabletask.entities import EntityContext


class EntityOperation:
    """What an entity function written for azure-functions-durable calls, for one operation."""

    def __init__(self, inner: EntityContext, value: Any) -> None:
        self._inner = inner
        self._input = value
        self.result: Any = None

    @property
    def entity_key(self) -> str:
        return self._inner.entity_id.key

    @property
    def operation_name(self) -> str:
        return self._inner.operation

    def get_input(self) -> Any:
        return self._input

    def get_state(self, initializer: Callable[[], Any] | None = None) -> Any:
        state = self._inner.get_state()
        return initializer() if state is None and initializer is not None else state

    def set_state(self, state: Any) -> None:
        self._inner.set_state(state)

    def set_result(self, result: Any) -> None:
        self.result = result

    def destruct_on_exit(self) -> None:
        """Delete the entity: the SDK stores no state for it, which the scheduler keeps as not existing."""
        self._inner.set_state(None)


def entity(fn: Callable[[Any], None]) -> Callable[[EntityContext, Any], Any]:
    """The SDK entity that runs the df entity function ``fn``; its result is what ``fn`` set."""

    def run(ctx: EntityContext, value: Any) -> Any:
        operation = EntityOperation(ctx, value)
        fn(operation)
        return operation.result

    run.__name__ = run.__qualname__ = getattr(fn, "__name__", "entity")
    return run
