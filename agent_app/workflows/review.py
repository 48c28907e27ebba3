"""Human in the loop: a writer drafts, a person approves or sends feedback, for up to three rounds.

The person answers with the event ``review``: ``{"approved": true}`` or ``{"approved": false,
"feedback": "..."}``. No answer within the timeout ends the workflow as escalated, as do three
rejected drafts.
"""

from __future__ import annotations

import json
from datetime import timedelta

import azure.durable_functions as df
from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt

import durable_agents
from durable_agents import workflow

from .progress import set_progress

EVENT = "review"
MAX_ROUNDS = 3


class ReviewInput(BaseModel):
    brief: str = Field(min_length=1, pattern=r"\S")
    timeout_seconds: StrictInt | StrictFloat = Field(86400, ge=1, le=30 * 86400)


class Review(BaseModel):
    """A person's decision on a draft."""

    approved: StrictBool
    feedback: str = ""


@workflow("review", input=ReviewInput, events={EVENT: Review})
def workflow_review(context: df.DurableOrchestrationContext):
    """Draft, wait for a person's review, revise; approved, or escalated."""
    spec = context.get_input()
    runs: list[str] = []
    message, draft = f"Brief: {spec['brief']}", ""
    for round_number in range(1, MAX_ROUNDS + 1):
        task = durable_agents.run(context, "writer", message, tag=f"draft-{round_number}")
        runs.append(task.run_id)
        set_progress(context, "drafting", runs, round=round_number)
        draft = (yield task)["response"]
        deadline = context.current_utc_datetime + timedelta(seconds=spec["timeout_seconds"])
        set_progress(context, "awaiting_review", runs, round=round_number, draft=draft,
                     expires_at=deadline.isoformat())
        review = context.wait_for_external_event(EVENT)
        timer = context.create_timer(deadline)
        winner = yield context.task_any([review, timer])
        if winner != review:
            set_progress(context, "escalated", runs, round=round_number)
            return {"status": "escalated", "reason": "no review before the timeout", "draft": draft,
                    "rounds": round_number, "runs": runs}
        timer.cancel()
        decision = review.result if not isinstance(review.result, str) else json.loads(review.result)
        if decision.get("approved") is True:
            set_progress(context, "approved", runs, round=round_number)
            return {"status": "approved", "draft": draft, "rounds": round_number, "runs": runs}
        message = (f"Brief: {spec['brief']}\n\nYour previous draft:\n{draft}\n\n"
                   f"Reviewer feedback: {decision.get('feedback') or 'not approved'}")
    set_progress(context, "escalated", runs, round=MAX_ROUNDS)
    return {"status": "escalated", "reason": f"not approved after {MAX_ROUNDS} rounds", "draft": draft,
            "rounds": MAX_ROUNDS, "runs": runs}
