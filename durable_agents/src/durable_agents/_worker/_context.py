"""azure-functions-durable orchestrators, unchanged, as Durable Task SDK orchestrators.

``orchestrator(fn, name)`` is what the SDK worker registers: it gives ``fn`` a ``DurableContext`` (the part of
``df.DurableOrchestrationContext`` the library uses) over the SDK's ``OrchestrationContext``, and drives ``fn``'s
generator, yielding the SDK's tasks for the ones ``fn`` yields. The SDK replays the generator from history on every
episode, so ``fn`` must be deterministic exactly as on Functions; everything the context answers (the time, the
input, new ids) comes from the SDK's replayed state.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
from durabletask import task
from durabletask.entities import EntityInstanceId

from ._tasks import AnyTask, Task

_UNSET = object()


def entity_instance(entity_id: df.EntityId) -> EntityInstanceId:
    return EntityInstanceId(entity_id.name, entity_id.key)


class DurableContext:
    """What an orchestrator written for azure-functions-durable calls, answered by the SDK's context."""

    def __init__(self, inner: task.OrchestrationContext, value: Any) -> None:
        self._inner = inner
        self._input = value
        self._custom_status: Any = _UNSET
        self._continued = False

    @property
    def instance_id(self) -> str:
        return self._inner.instance_id

    @property
    def current_utc_datetime(self) -> datetime:
        """The replayed time of this episode, timezone-aware as df gives it (the SDK's is naive UTC)."""
        return self._inner.current_utc_datetime.replace(tzinfo=UTC)

    def get_input(self) -> Any:
        return self._input

    def new_uuid(self) -> str:
        return self._inner.new_uuid()

    def set_custom_status(self, status: Any) -> None:
        """Keep ``status``: like df, the episode reports it as it is when the episode ends (see ``flush``)."""
        self._custom_status = status
        self.flush()

    def flush(self) -> None:
        """Hand the SDK the custom status as it is now: the SDK encodes it at once, df only at the episode's end,
        and the library's status holds lists it changes after setting it (a run's steps)."""
        if self._custom_status is not _UNSET:
            self._inner.set_custom_status(self._custom_status)

    def call_activity(self, name: str, input_: Any = None) -> Task:
        return Task(self._inner.call_activity(name, input=input_))

    def call_activity_with_retry(self, name: str, retry_options: df.RetryOptions, input_: Any = None) -> Task:
        policy = task.RetryPolicy(
            first_retry_interval=timedelta(milliseconds=retry_options.first_retry_interval_in_milliseconds),
            max_number_of_attempts=retry_options.max_number_of_attempts)
        return Task(self._inner.call_activity(name, input=input_, retry_policy=policy))

    def call_sub_orchestrator(self, name: str, input_: Any = None, instance_id: str | None = None) -> Task:
        return Task(self._inner.call_sub_orchestrator(name, input=input_, instance_id=instance_id))

    def call_entity(self, entity_id: df.EntityId, operation_name: str, operation_input: Any = None) -> Task:
        return Task(self._inner.call_entity(entity_instance(entity_id), operation_name, operation_input))

    def wait_for_external_event(self, name: str) -> Task:
        return Task(self._inner.wait_for_external_event(name))

    def create_timer(self, fire_at: datetime) -> Task:
        return Task(self._inner.create_timer(fire_at))

    def task_all(self, tasks: list[Task]) -> Task:
        """All the tasks' results in order; a failure is raised once every task has ended (df raises it at once)."""
        return Task(task.when_all([t.inner for t in tasks]))

    def task_any(self, tasks: list[Task]) -> Task:
        return AnyTask(list(tasks))

    def continue_as_new(self, input_: Any) -> None:
        self._continued = True
        self._inner.continue_as_new(input_)

    @property
    def will_continue_as_new(self) -> bool:
        return self._continued


def drive(steps: Generator[Any, Any, Any], context: DurableContext) -> Generator[task.Task[Any], Any, Any]:
    """Run a df orchestrator's generator under the SDK: yield each SDK task, send back df's view of its outcome.

    An episode ends at a yield or at the generator's end, so the custom status is flushed at each of them.
    """
    sent: Any = None
    failure: BaseException | None = None
    try:
        while True:
            try:
                yielded = steps.throw(failure) if failure is not None else steps.send(sent)
            except StopIteration as done:
                return done.value
            if not isinstance(yielded, Task):
                raise TypeError(f"an orchestrator yielded {yielded!r}; yield the tasks its context returns")
            context.flush()
            try:
                outcome = yield yielded.inner
            except Exception as exc:  # the SDK throws a failed task's error in at the yield, as df does
                sent, failure = None, exc
            else:
                sent, failure = yielded.deliver(outcome), None
    finally:
        context.flush()


def orchestrator(fn: Callable[[Any], Any], name: str) -> task.Orchestrator[Any, Any]:
    """The SDK orchestrator named ``name`` that runs the df orchestrator function ``fn``."""

    def run(ctx: task.OrchestrationContext, value: Any) -> Any:
        context = DurableContext(ctx, value)
        result = fn(context)
        return drive(result, context) if inspect.isgenerator(result) else result

    run.__name__ = run.__qualname__ = name
    return run
