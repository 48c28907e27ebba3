"""Durable tasks as azure-functions-durable's orchestrators see them, over the Durable Task SDK's tasks.

An orchestrator yields one of these; the driver (``_context.drive``) yields the SDK task inside it and sends the
outcome back in df's shape. Differences this hides: df's ``task.result`` is the exception of a failed task (the SDK
raises it), and ``task_any`` gives the winning task the orchestrator holds (not the SDK's task inside it). Nothing
here is durable by itself: the SDK records and replays every task.
"""

from __future__ import annotations

from typing import Any

from durabletask import task


class Task:
    """One durable task; callers may set attributes on it (``durable_agents.run`` sets ``run_id``)."""

    def __init__(self, inner: task.Task[Any]) -> None:
        self.inner = inner

    def deliver(self, outcome: Any) -> Any:
        """What the orchestrator receives at its ``yield`` when the SDK sends ``outcome``."""
        return outcome

    @property
    def result(self) -> Any:
        """The value once done, the exception when it failed (as in df), None before."""
        if not self.inner.is_complete:
            return None
        if self.inner.is_failed:
            return self.inner.get_exception()
        return self.deliver(self.inner.get_result())

    def cancel(self) -> None:
        """Cancel a timer (or an event wait) that is no longer needed; a finished one is left as it is."""
        if not isinstance(self.inner, task.CancellableTask):
            raise TypeError("only timers and external event waits can be canceled")
        self.inner.cancel()


class AnyTask(Task):
    """``task_any``: its outcome is whichever of the orchestrator's own tasks finished first."""

    def __init__(self, children: list[Task]) -> None:
        super().__init__(task.when_any([child.inner for child in children]))
        self.children = children

    def deliver(self, outcome: Any) -> Any:
        return next(child for child in self.children if child.inner is outcome)
