"""Calling agents from pattern orchestrations: each call is an ``agent_run`` sub-orchestration.

So every agent call inside a pattern is itself durable, streamed and inspectable at
``/api/runs/{run_id}``; run ids are derived from the workflow id, so they are stable across replays.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from agents import settings
from orchestrations.agent_run import ORCHESTRATOR


def run_config() -> dict[str, Any]:
    """The settings a run needs, read by the HTTP starter (orchestrators must not read the environment)."""
    config = settings.load()
    return {"max_steps": config.agent_max_steps, "approval_timeout_seconds": config.approval_timeout_seconds,
            "session_token_budget": config.session_token_budget}


def call_agent(context: df.DurableOrchestrationContext, agent: str, message: str, tag: str,
               response_format: dict[str, Any] | None = None) -> tuple[str, df.Task]:
    """Start agent ``agent`` on ``message``; returns (run id, task). Each call gets its own session."""
    workflow = context.get_input()
    run_id = f"{context.instance_id}-{tag}"
    spec = {**workflow["config"], "agent": agent, "session_id": run_id, "message": message,
            "response_format": response_format}
    return run_id, context.call_sub_orchestrator(ORCHESTRATOR, spec, run_id)


def set_progress(context: df.DurableOrchestrationContext, stage: str, runs: list[str], **extra: Any) -> None:
    context.set_custom_status({"stage": stage, "runs": runs, **extra})
