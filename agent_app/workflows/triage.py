"""Routing: a classifier with structured output sends a message to a specialist, or rejects spam."""

from __future__ import annotations

import azure.durable_functions as df
from pydantic import BaseModel, Field

import durable_agents
from durable_agents import workflow

from ..agents import TRIAGE_SCHEMA
from .progress import set_progress

ROUTES = {"billing": "billing", "technical": "technical", "general": "assistant"}


class TriageInput(BaseModel):
    message: str = Field(min_length=1, pattern=r"\S")


@workflow("triage", input=TriageInput)
def workflow_triage(context: df.DurableOrchestrationContext):
    """Classify, then answer with the right specialist; spam gets no answer at all."""
    message = context.get_input()["message"]
    task = durable_agents.run(context, "classifier", message, response_format=TRIAGE_SCHEMA, tag="classify")
    runs = [task.run_id]
    set_progress(context, "classify", runs)
    verdict = (yield task)["structured"]
    if verdict["category"] == "spam":
        set_progress(context, "done", runs)
        return {"category": "spam", "reason": verdict["reason"], "rejected": True, "answer": None, "runs": runs}
    specialist = ROUTES[verdict["category"]]
    task = durable_agents.run(context, specialist, message, tag="answer")
    runs.append(task.run_id)
    set_progress(context, "answer", runs, category=verdict["category"])
    answer = (yield task)["response"]
    set_progress(context, "done", runs, category=verdict["category"])
    return {"category": verdict["category"], "reason": verdict["reason"], "rejected": False,
            "specialist": specialist, "answer": answer, "runs": runs}
