"""Routing: a classifier with structured output sends a message to a specialist, or rejects spam."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from agents.catalogue import TRIAGE_SCHEMA
from agents.errors import AgentError
from orchestrations.agent_calls import call_agent, set_progress

ORCHESTRATOR = "workflow_triage"
ROUTES = {"billing": "billing", "technical": "technical", "general": "assistant"}
bp = df.Blueprint()


def parse_input(body: dict[str, Any]) -> dict[str, Any]:
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        raise AgentError("MissingMessage", 'triage needs {"message": "..."}')
    return {"message": message}


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def workflow_triage(context: df.DurableOrchestrationContext):
    """Classify, then answer with the right specialist; spam gets no answer at all."""
    message = context.get_input()["input"]["message"]
    run_id, task = call_agent(context, "classifier", message, "classify", TRIAGE_SCHEMA)
    runs = [run_id]
    set_progress(context, "classify", runs)
    verdict = (yield task)["structured"]
    if verdict["category"] == "spam":
        set_progress(context, "done", runs)
        return {"category": "spam", "reason": verdict["reason"], "rejected": True, "answer": None, "runs": runs}
    specialist = ROUTES[verdict["category"]]
    run_id, task = call_agent(context, specialist, message, "answer")
    runs.append(run_id)
    set_progress(context, "answer", runs, category=verdict["category"])
    answer = (yield task)["response"]
    set_progress(context, "done", runs, category=verdict["category"])
    return {"category": verdict["category"], "reason": verdict["reason"], "rejected": False,
            "specialist": specialist, "answer": answer, "runs": runs}
