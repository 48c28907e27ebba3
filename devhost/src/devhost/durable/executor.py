"""Where user code runs: the engine decides what runs and commits what comes back; an executor runs it.

One mechanism, two executors. The engine hands an executor an episode (an instance with its history and the new
events), an activity or an entity batch, and gets back the writes an in-process episode would produce: an
``Outcome``, an activity's result (or a ``TaskFailure``), a ``BatchResult``. ``InProcess`` (here) calls the
Functions app's own code through the Python SDK; the sidecar's remote executor (``devhost.sidecar.dispatch``)
offers the same work to Durable Task SDK workers connected over gRPC. Whichever runs it, the engine's durability
rules are the same, because the engine alone reads and writes the store.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal, Protocol

from azure.functions import meta

from ..functions import Function, FunctionIndex
from ..invoker import Invoker
from .entities import BatchResult, run_batch
from .episode import Outcome, run_episode
from .history import Event
from .instance import Instance

Kind = Literal["orchestration", "activity", "entity"]
_activity_converter = meta.get_binding_registry().get("activityTrigger")  # type: ignore[union-attr]


class TaskFailure(Exception):
    """An activity that failed with failure details of its own, as a Durable Task SDK worker reports them.

    ``details`` has the Durable Task Framework's ``FailureDetails`` keys (``ErrorType``, ``ErrorMessage``,
    ``StackTrace``, ``InnerFailure``, ``IsNonRetriable``).
    """

    def __init__(self, details: dict[str, Any]) -> None:
        super().__init__(details.get("ErrorMessage") or details.get("ErrorType") or "the activity failed")
        self.details = details


class Executor(Protocol):
    """Runs the user code of episodes, activities and entity batches; each call answers once, later."""

    def episode(self, inst: Instance, batch: list[Event], now: datetime) -> Awaitable[Outcome]:
        """One episode of ``inst`` with the new events ``batch`` (OrchestratorStarted is added here)."""
        ...

    def activity(self, hub: str, instance_id: str, task_id: int, name: str,
                 input_text: str | None) -> Awaitable[str | None]:
        """The activity's result as JSON text; raises when it failed."""
        ...

    def entity_batch(self, hub: str, entity_id: str, state: str | None, exists: bool,
                     ops: list[dict[str, Any]]) -> Awaitable[BatchResult]:
        """Apply ``ops`` in order to the entity's state."""
        ...


class InProcess:
    """The Functions app's own orchestrators, activities and entities, run as the Python worker runs them."""

    def __init__(self, functions: FunctionIndex, invoker: Invoker,
                 extra_args: Callable[[Function], dict[str, Any]]) -> None:
        self.functions = functions
        self.invoker = invoker
        self.extra_args = extra_args

    def runs(self, kind: Kind, name: str) -> bool:
        table = {"orchestration": self.functions.orchestrators, "activity": self.functions.activities,
                 "entity": self.functions.entities}[kind]
        return name.lower() in table

    def episode(self, inst: Instance, batch: list[Event], now: datetime) -> Awaitable[Outcome]:
        fn = self.functions.orchestrators.get(inst.name.lower())
        return self.invoker.submit(functools.partial(run_episode, inst, batch, fn and fn.user_function, now))

    async def activity(self, hub: str, instance_id: str, task_id: int, name: str,
                       input_text: str | None) -> str | None:
        fn = self.functions.activities.get(name.lower())
        if fn is None:
            raise LookupError(f"The activity function '{name}' does not exist in this app.")
        value = _activity_converter.decode(
            meta.Datum(type="json", value=input_text if input_text is not None else "null"),
            trigger_metadata=None,
        )
        kwargs = {fn.trigger_arg: value, **self.extra_args(fn)}
        result = await self.invoker.call(fn.user_function, fn.is_async, **kwargs)
        return _activity_converter.encode(result, expected_type=None).value

    def entity_batch(self, hub: str, entity_id: str, state: str | None, exists: bool,
                     ops: list[dict[str, Any]]) -> Awaitable[BatchResult]:
        fn = self.functions.entities.get(entity_id.split("@", 2)[1])
        return self.invoker.submit(functools.partial(run_batch, fn and fn.user_function, entity_id, state, exists,
                                                     ops))
