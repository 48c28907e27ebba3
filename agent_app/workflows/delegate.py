"""Delegation: hand a message to any agent of the app by name, local or a remote A2A agent."""

from __future__ import annotations

import azure.durable_functions as df
from pydantic import BaseModel, Field

import durable_agents
from durable_agents import workflow

from .progress import set_progress


class DelegateInput(BaseModel):
    agent: str = Field(min_length=1, max_length=64)
    message: str = Field(min_length=1, pattern=r"\S")


@workflow("delegate", input=DelegateInput)
def workflow_delegate(context: df.DurableOrchestrationContext):
    """Run one agent on the message; for a remote agent the step sends once and follows the remote task."""
    spec = context.get_input()
    task = durable_agents.run(context, spec["agent"], spec["message"], tag="delegate")
    set_progress(context, "running", [task.run_id])
    result = yield task
    set_progress(context, "done", [task.run_id])
    return {"agent": spec["agent"], "response": result["response"], "remote_task_id": result.get("remote_task_id"),
            "runs": [task.run_id]}
