"""Every agent as an MCP tool: one MCP tool trigger function per agent, served by the Functions MCP extension at
``/runtime/webhooks/mcp`` (with the ``mcp_extension`` system key in Azure), plus one tool to decide approvals.

A call is a run like any other: it is submitted through ``_agent_run.submit`` (the session's turn, the same checks as
HTTP and A2A callers), so what is durable is what is durable of a run; the call waits for it at most
``MCP_TOOL_WAIT_SECONDS`` and answers with its answer, the approval it waits for (and how to decide it), or an error
result. Nothing here raises to the host: bad input and failed runs are tool results with ``isError``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import azure.durable_functions as df

from .. import _settings as settings
from .._agent import Agent
from .._agent_run import SESSION_ID, decide, submit, wait_run
from .._catalogue import all_agents, get_agent
from .._errors import AgentError
from .answers import APPROVAL_TOOL, answer, refusal

log = logging.getLogger(__name__)
FUNCTION_PREFIX = "mcp_tool_"

ASK_PROPERTIES = json.dumps([
    {"propertyName": "message", "propertyType": "string", "description": "what to ask or tell the agent",
     "isRequired": True, "isArray": False},
    {"propertyName": "session_id", "propertyType": "string", "isRequired": False, "isArray": False,
     "description": "the conversation to continue (1-64 letters, digits, '.', '_' or '-'), as an earlier answer "
                    "named it; a new conversation when absent"},
])
DECIDE_PROPERTIES = json.dumps([
    {"propertyName": "run_id", "propertyType": "string", "description": "the run that waits for approval",
     "isRequired": True, "isArray": False},
    {"propertyName": "approved", "propertyType": "boolean", "description": "true runs the tool call, false refuses it",
     "isRequired": True, "isArray": False},
    {"propertyName": "comment", "propertyType": "string", "description": "why, for the agent to read",
     "isRequired": False, "isArray": False},
])
DECIDE_DESCRIPTION = ("Approve or deny the tool call a run of an agent waits for (the run id is in that agent's "
                      "answer). Decide only as your user says. Answers like the agent, once the run goes on.")


def _invocation(context: str) -> tuple[dict[str, Any], str]:
    """The call's arguments, and the origin its links are made with (the MCP request's own host)."""
    try:
        parsed = json.loads(context)
    except ValueError:
        raise AgentError("InvalidMcpContext", "the tool call's context is not JSON") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("arguments") or {}, dict):
        raise AgentError("InvalidMcpContext", "the tool call's arguments must be a JSON object")
    transport = parsed.get("transport") if isinstance(parsed.get("transport"), dict) else {}
    properties = transport.get("properties") if isinstance(transport.get("properties"), dict) else {}
    headers = properties.get("headers") if isinstance(properties.get("headers"), dict) else {}
    headers = {str(k).lower(): str(v) for k, v in headers.items()}
    host = headers.get("x-forwarded-host") or headers.get("host")
    scheme = (headers.get("x-forwarded-proto") or "http").split(",")[0].strip()
    return parsed.get("arguments") or {}, f"{scheme}://{host}" if host else ""


def _text(arguments: dict[str, Any], name: str) -> str:
    value = arguments.get(name)
    if not isinstance(value, str) or not value.strip():
        raise AgentError("InvalidArgument", f"{name} must be a non-empty string")
    return value


async def ask(agent: Agent, context: str, client: df.DurableOrchestrationClient) -> str:
    """One call of an agent's tool: a run on the given session (or a new one), waited for."""
    try:
        arguments, origin = _invocation(context)
        message = _text(arguments, "message")
        session_id = arguments.get("session_id")
        if session_id is None or session_id == "":  # clients fill optional strings with "" as often as not
            session_id = uuid.uuid4().hex
        elif not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
            raise AgentError("InvalidSessionId", "session_id must be 1-64 letters, digits, '.', '_' or '-'")
        waited = settings.load().mcp_tool_wait_seconds
        run_id = await submit(client, agent, session_id, message)
        return answer(await wait_run(client, run_id, origin, waited), waited)
    except AgentError as exc:
        return refusal(exc.message)
    except Exception as exc:
        log.exception("MCP tool %s failed", agent.name)
        return refusal(f"{agent.name} could not be asked: {type(exc).__name__}: {exc}")


async def _decision_taken(client: df.DurableOrchestrationClient, run_id: str, call_id: str | None,
                          timeout: float) -> None:
    """Until the run takes the decision just sent, it still reads as waiting for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        status = await client.get_status(run_id)
        pending = (status.custom_status or {}).get("pending_approval") or {}
        if pending.get("call_id") != call_id:
            return
        await asyncio.sleep(0.05)


async def decide_approval(context: str, client: df.DurableOrchestrationClient) -> str:
    """Deliver a decision on the tool call a run waits for, then answer as the agent's tool does."""
    try:
        arguments, origin = _invocation(context)
        run_id = _text(arguments, "run_id")
        approved, comment = arguments.get("approved"), arguments.get("comment")
        if not isinstance(approved, bool):
            raise AgentError("InvalidArgument", "approved must be true or false")
        if comment is not None and not isinstance(comment, str):
            raise AgentError("InvalidArgument", "comment must be a string")
        status = await client.get_status(run_id)
        call_id = ((status.custom_status or {}).get("pending_approval") or {}).get("call_id") if status else None
        await decide(client, run_id, {"approved": approved, "comment": comment}, origin)
        waited = settings.load().mcp_tool_wait_seconds
        loop = asyncio.get_running_loop()
        started = loop.time()
        await _decision_taken(client, run_id, call_id, waited)
        remaining = max(0.0, waited - (loop.time() - started))
        return answer(await wait_run(client, run_id, origin, remaining), waited)
    except AgentError as exc:
        return refusal(exc.message)
    except Exception as exc:
        log.exception("MCP tool %s failed", APPROVAL_TOOL)
        return refusal(f"the decision could not be delivered: {type(exc).__name__}: {exc}")


def _agent_tool(bp: df.Blueprint, agent: Agent) -> None:
    # Each tool's function looks its agent up when called, so a definition is read as deployed, like a run's steps.
    name = agent.name

    @bp.function_name(f"{FUNCTION_PREFIX}{name}")
    @bp.mcp_tool_trigger(arg_name="context", tool_name=name, description=agent.description,
                         tool_properties=ASK_PROPERTIES, use_result_schema=True)
    @bp.durable_client_input(client_name="client")
    async def ask_agent(context: str, client: df.DurableOrchestrationClient) -> str:
        return await ask(get_agent(name), context, client)


def blueprint() -> df.Blueprint:
    """The MCP tools of the agents known now (an ``AgentFunctionApp`` registers this once it has added them)."""
    bp = df.Blueprint()
    agents = all_agents()
    if any(a.name == APPROVAL_TOOL for a in agents):
        raise ValueError(f"an agent is named {APPROVAL_TOOL!r}, the name of the MCP tool that decides approvals")
    for agent in agents:
        _agent_tool(bp, agent)

    @bp.function_name(f"{FUNCTION_PREFIX}{APPROVAL_TOOL}")
    @bp.mcp_tool_trigger(arg_name="context", tool_name=APPROVAL_TOOL, description=DECIDE_DESCRIPTION,
                         tool_properties=DECIDE_PROPERTIES, use_result_schema=True)
    @bp.durable_client_input(client_name="client")
    async def mcp_decide_approval(context: str, client: df.DurableOrchestrationClient) -> str:
        return await decide_approval(context, client)

    return bp


def __getattr__(name: str) -> Any:
    # The tools are the app's agents, known once AgentFunctionApp has added them: its blueprint is made when asked for.
    if name == "bp":
        return blueprint()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
