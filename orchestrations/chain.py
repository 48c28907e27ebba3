"""Chaining: researcher → writer → editor, each stage's output feeding the next."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from agents.errors import AgentError
from orchestrations.agent_calls import call_agent, set_progress

ORCHESTRATOR = "workflow_chain"
bp = df.Blueprint()


def parse_input(body: dict[str, Any]) -> dict[str, Any]:
    topic = body.get("topic")
    if not isinstance(topic, str) or not topic.strip():
        raise AgentError("MissingTopic", 'chain needs {"topic": "..."}')
    return {"topic": topic}


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def workflow_chain(context: df.DurableOrchestrationContext):
    """Research a topic, write it up, edit the draft."""
    topic = context.get_input()["input"]["topic"]
    runs: list[str] = []
    outputs: dict[str, str] = {}
    message = f"Topic: {topic}"
    for stage, agent, lead in (("research", "researcher", "Notes to write from:\n"),
                               ("draft", "writer", "Draft to edit:\n"), ("final", "editor", "")):
        run_id, task = call_agent(context, agent, message, stage)
        runs.append(run_id)
        set_progress(context, stage, runs)
        outputs[stage] = (yield task)["response"]
        message = f"{lead}{outputs[stage]}"
    set_progress(context, "done", runs)
    return {**outputs, "runs": runs}
