"""Each agent's A2A endpoint: its agent card, and JSON-RPC (protocol 1.0, and the 0.3 method names) at one URL.

``GET /api/a2a/{agent}/.well-known/agent-card.json`` is anonymous, as discovery is; ``POST /api/a2a/{agent}``
takes the function key like the rest of the API (the card says so).
"""

from __future__ import annotations

from importlib.metadata import version
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    APIKeySecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from azurefunctions.extensions.http.fastapi import JSONResponse, Request, Response
from google.protobuf import json_format

from .._agent import Agent
from .._catalogue import get_agent
from .._errors import AgentError
from .handler import RunHandler

CARD_PATH = ".well-known/agent-card.json"
KEY_SCHEME = "functionKey"
MODES = ["text/plain", "application/json"]

bp = df.Blueprint()


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def endpoint(origin: str, agent: str) -> str:
    return f"{origin}/api/a2a/{agent}"


def card_url(origin: str, agent: str) -> str:
    """Where ``agent``'s A2A card is (``GET /api/agents`` lists it)."""
    return f"{endpoint(origin, agent)}/{CARD_PATH}"


def card_of(agent: Agent, origin: str) -> AgentCard:
    """The agent card: who it is, its tools as skills, and the JSON-RPC interface at protocol 1.0."""
    skills = [AgentSkill(id=tool.name, name=tool.name, description=tool.description, tags=["tool"])
              for tool in agent.tools]
    skills.append(AgentSkill(id=agent.name, name=agent.name, description=agent.description, tags=["agent"]))
    return AgentCard(
        name=agent.name, description=agent.description, version=version("durable-agents"),
        supported_interfaces=[AgentInterface(url=endpoint(origin, agent.name), protocol_binding="JSONRPC",
                                             protocol_version="1.0")],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        default_input_modes=MODES, default_output_modes=MODES, skills=skills,
        security_schemes={KEY_SCHEME: SecurityScheme(api_key_security_scheme=APIKeySecurityScheme(
            location="header", name="x-functions-key",
            description="the function key (Azure); not needed on devhost unless it enforces keys"))},
        security_requirements=[SecurityRequirement(schemes={KEY_SCHEME: StringList()})],
    )


def _agent(req: Request) -> Agent | JSONResponse:
    try:
        return get_agent(req.path_params["agent"])
    except AgentError as exc:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status)


@bp.route(route="a2a/{agent}/.well-known/agent-card.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def a2a_card(req: Request) -> Response:
    """An agent's A2A agent card."""
    agent = _agent(req)
    if not isinstance(agent, Agent):
        return agent
    return JSONResponse(json_format.MessageToDict(card_of(agent, origin_of(str(req.url)))))


@bp.route(route="a2a/{agent}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def a2a_rpc(req: Request, client: df.DurableOrchestrationClient) -> Response:
    """An agent's A2A JSON-RPC endpoint: SendMessage, SendStreamingMessage, GetTask, SubscribeToTask, CancelTask,
    ListTasks (and message/send, message/stream, tasks/get, tasks/resubscribe, tasks/cancel)."""
    agent = _agent(req)
    if not isinstance(agent, Agent):
        return agent
    handler = RunHandler(client, agent, origin_of(str(req.url)))
    return await JsonRpcDispatcher(handler, enable_v0_3_compat=True).handle_requests(req)
