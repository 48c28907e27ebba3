"""Human in the loop: a writer drafts, a person approves or sends feedback, for up to three rounds.

The person answers with the event ``review``: ``{"approved": true}`` or ``{"approved": false,
"feedback": "..."}``. No answer within the timeout ends the workflow as escalated, as do three
rejected drafts.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from agents.errors import AgentError
from orchestrations.agent_calls import call_agent, set_progress

ORCHESTRATOR = "workflow_review"
EVENT = "review"
MAX_ROUNDS = 3
bp = df.Blueprint()


def parse_input(body: dict[str, Any]) -> dict[str, Any]:
    brief = body.get("brief")
    if not isinstance(brief, str) or not brief.strip():
        raise AgentError("MissingBrief", 'review needs {"brief": "...", "timeout_seconds"?: number}')
    timeout = body.get("timeout_seconds", 86400)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 1 <= timeout <= 30 * 86400:
        raise AgentError("InvalidTimeout", "timeout_seconds must be between 1 and 2592000")
    return {"brief": brief, "timeout_seconds": timeout}


def check_event(name: str, body: Any) -> None:
    """A review decision must say whether the draft is approved."""
    if name == EVENT and (not isinstance(body, dict) or not isinstance(body.get("approved"), bool)
                          or not isinstance(body.get("feedback", ""), str)):
        raise AgentError("InvalidReview", 'the review event is {"approved": true|false, "feedback"?: "..."}')


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def workflow_review(context: df.DurableOrchestrationContext):
    """Draft, wait for a person's review, revise; approved, or escalated."""
    spec = context.get_input()["input"]
    runs: list[str] = []
    message, draft = f"Brief: {spec['brief']}", ""
    for round_number in range(1, MAX_ROUNDS + 1):
        run_id, task = call_agent(context, "writer", message, f"draft-{round_number}")
        runs.append(run_id)
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
