"""Calling an agent from an orchestration: each call is an ``agent_run`` sub-orchestration.

So every agent call inside a workflow is itself durable, streamed and inspectable at ``/api/runs/{run_id}``.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from ._a2a.remote import REMOTE_RUN
from ._agent_run import ORCHESTRATOR, run_limits
from ._catalogue import get_agent, remote_agents


def run(context: df.DurableOrchestrationContext, agent: str, message: str, *, session_id: str | None = None,
        response_format: dict[str, Any] | None = None, tag: str | None = None) -> df.Task:
    """Run ``agent`` on ``message`` as a durable step of the calling orchestration; yield the task for its result.

    The task's ``run_id`` names the run (``GET /api/runs/{run_id}``).
    The result is the run's view: ``{"response", "structured"?, "usage", "steps", ...}``. The run is a
    sub-orchestration with the id ``{instance id}-{tag}`` (or ``{instance id}-{agent}-{uuid}`` from
    ``context.new_uuid()``, which replays unchanged), so a replay schedules the same run and a retried workflow never
    starts a second one. Without ``session_id`` the run has a session of its own (its run id); with one it continues
    that conversation, in turn with the session's other runs. Parallel calls go through ``context.task_all``.

    A remote A2A agent (a ``RemoteAgent`` of the app) is called the same way: the step sends its message once (the
    remote task's id is kept in history) and follows that task; the result is ``{"response", "structured",
    "remote_task_id", "remote_context_id"}`` and ``session_id`` is the remote context.
    """
    run_id = f"{context.instance_id}-{tag}" if tag else f"{context.instance_id}-{agent}-{context.new_uuid()}"
    if agent in {remote.name for remote in remote_agents()}:
        task = context.call_sub_orchestrator(REMOTE_RUN, {"agent": agent, "message": message,
                                                          "context_id": session_id}, run_id)
        task.run_id = run_id  # type: ignore[attr-defined]
        return task
    definition = get_agent(agent)
    spec = {**run_limits(definition), "agent": definition.name, "session_id": session_id or run_id,
            "message": message, "response_format": response_format, "trace_root": context.instance_id}
    task = context.call_sub_orchestrator(ORCHESTRATOR, spec, run_id)
    task.run_id = run_id  # type: ignore[attr-defined]
    return task
