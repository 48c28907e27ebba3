"""The agents' Functions: the session entity, the loop's activities and the agent HTTP API."""

from __future__ import annotations

import asyncio
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from . import _model as model
from . import _session as session
from . import _settings as settings
from . import _steps as steps
from ._a2a.server import card_url, origin_of
from ._catalogue import all_agents, get_agent, remote_agents
from ._errors import AgentError
from ._http import error_response, json_response
from ._streams import open_store

bp = df.Blueprint()


@bp.entity_trigger(context_name="context", entity_name=session.ENTITY_NAME)
def session_entity(context: df.DurableEntityContext) -> None:
    """One conversation: see ``agents.session``."""
    session.session_entity(context)


@bp.activity_trigger(input_name="payload", activity="agent_model_step")
@bp.durable_client_input(client_name="client")
async def agent_model_step(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """One model call of a run (a durable step)."""
    return await steps.model_step(payload, client)


@bp.activity_trigger(input_name="payload", activity="agent_tool_step")
async def agent_tool_step(payload: dict[str, Any]) -> dict[str, Any]:
    """One tool call of a run (a durable step)."""
    return await steps.tool_step(payload)


@bp.activity_trigger(input_name="payload", activity="agent_publish")
async def agent_publish(payload: dict[str, Any]) -> None:
    """Publish an event to a run's stream."""
    await steps.publish_step(payload)


@bp.activity_trigger(input_name="payload", activity="agent_compact_step")
@bp.durable_client_input(client_name="client")
async def agent_compact_step(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any] | None:
    """Summarise a session's oldest turns when it is over its token budget."""
    return await steps.compact_step(payload, client)


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest) -> func.HttpResponse:
    """Whether the app can serve: its agents, the model it would use and the store its run streams go to."""
    try:
        provider = model.provider(settings.load()).describe()
        status = "ok"
    except AgentError as exc:
        provider, status = {"kind": "none", "error": exc.message}, "degraded"
    try:
        streams = await open_store().describe()
    except AgentError as exc:
        streams = {"kind": "none", "reachable": False, "error": exc.message}
    if not streams["reachable"]:
        status = "degraded"
    return json_response({"status": status, "agents": [a.name for a in all_agents()], "model": provider,
                          "streams": streams})


@bp.route(route="agents", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def list_agents(req: func.HttpRequest) -> func.HttpResponse:
    """Every agent with its description, tools and A2A card."""
    origin = origin_of(req.url)
    local = [{**a.describe(), "remote": False, "a2a": {"card": card_url(origin, a.name)}} for a in all_agents()]
    return json_response({"agents": local + [r.describe() for r in remote_agents()]})


@bp.route(route="agents/{agent}/sessions/{session_id}", methods=["GET", "DELETE"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def agent_session(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Read (GET) or forget (DELETE) one conversation."""
    try:
        agent = get_agent(req.route_params["agent"])
        session_id = req.route_params["session_id"]
        state = await steps.read_session(client, agent.name, session_id)
        if state is None:
            raise AgentError("SessionNotFound", f"agent {agent.name} has no session {session_id!r}", 404)
        if req.method == "GET":
            return json_response(state)
        if state.get("queue"):
            raise AgentError("SessionBusy", f"session {session_id!r} has runs in progress or queued "
                             f"({', '.join(e['run_id'] for e in state['queue'])}); cancel them first", 409)
        await client.signal_entity(session.entity_id(agent.name, session_id), "reset")
        for _ in range(200):  # the reset is a signal: answer once it has been applied
            if await steps.read_session(client, agent.name, session_id) is None:
                return func.HttpResponse(status_code=204)
            await asyncio.sleep(0.025)
        raise AgentError("ResetPending", "the session reset was accepted but has not been applied yet", 503)
    except AgentError as exc:
        return error_response(exc)
