"""Idle sessions expire: one small orchestration per session sleeps on a durable timer.

When the timer fires it asks the session entity to delete itself if it has been idle for the TTL;
if it has been used since, the entity answers when it will next be due and the orchestration sleeps
again (continue-as-new keeps its history small). Durable timers make this work the same in Azure and
under devhost, across restarts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import azure.durable_functions as df

from . import _session as session

ORCHESTRATOR = "session_expiry"
ACTIVE = {"Pending", "Running", "ContinuedAsNew", "Suspended"}

bp = df.Blueprint()


def instance_id(agent: str, session_id: str) -> str:
    return f"session-expiry:{agent}:{session_id}"


async def ensure_expiry(client: df.DurableOrchestrationClient, agent: str, session_id: str, ttl_seconds: float) -> None:
    """Start the session's expiry watch unless one is already running."""
    iid = instance_id(agent, session_id)
    status = await client.get_status(iid)
    if status and status.runtime_status and status.runtime_status.value in ACTIVE:
        return
    try:
        await client.start_new(ORCHESTRATOR, iid, {"agent": agent, "session_id": session_id,
                                                   "ttl_seconds": ttl_seconds, "due": None})
    except Exception:  # another request started it in between; one watch is enough
        status = await client.get_status(iid)
        if not (status and status.runtime_status and status.runtime_status.value in ACTIVE):
            raise


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def session_expiry(context: df.DurableOrchestrationContext):
    """Sleep until the session may be idle for its TTL, then expire it or sleep again."""
    spec = context.get_input()
    now = context.current_utc_datetime
    due = datetime.fromisoformat(spec["due"]) if spec.get("due") else now + timedelta(seconds=spec["ttl_seconds"])
    yield context.create_timer(max(due, now + timedelta(seconds=1)))
    verdict = yield context.call_entity(session.entity_id(spec["agent"], spec["session_id"]), "expire_if_idle",
                                        {"ttl_seconds": spec["ttl_seconds"]})
    if verdict["expired"]:
        return "expired"
    context.continue_as_new({**spec, "due": verdict["due"]})
    return None
