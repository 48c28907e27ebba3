"""The MCP tools one run may call: listed at the run's first model call and journaled with its steps.

The first list journaled for a run wins (a step that runs again, or runs beside another, reads that one), so every
model step of the run offers the same tools and every tool step finds the tool its model step offered. Only a run
that outlives its journal (``STREAM_TTL_MINUTES`` after the list was made) lists the servers again.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from .. import _settings as settings
from .._agent import Agent
from .._errors import AgentError
from .._streams import StreamStore
from .servers import McpServer

JOURNAL = "step:{run_id}:mcp-tools"
_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_-]")


def _function_name(tool: str) -> str:
    """A name the model API accepts (letters, digits, '_', '-'; at most 64)."""
    return _NOT_IN_A_NAME.sub("_", tool)[:64] or "_"


def _chosen(server: McpServer, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if server.tools is not None:
        by_name = {t["tool"]: t for t in listed}
        missing = [name for name in server.tools if name not in by_name]
        if missing:
            raise AgentError("McpToolNotFound", f"MCP server {server.name} lists no tool named "
                             f"{', '.join(missing)}; it lists {', '.join(sorted(by_name)) or 'none'}", 502)
        listed = [by_name[name] for name in server.tools]
    return [{**t, "name": _function_name(t["tool"]), "server": server.name} for t in listed]


async def discover(agent: Agent) -> list[dict[str, Any]]:
    """List the tools of every MCP server of ``agent`` now; an AgentError names a server that failed or a name clash."""
    from . import client  # the mcp SDK loads when a run first needs it: an app without MCP servers never pays for it

    listed = await asyncio.gather(*(client.list_tools(server) for server in agent.mcp_servers))
    tools = [tool for server, found in zip(agent.mcp_servers, listed, strict=True) for tool in _chosen(server, found)]
    taken = {t.name: f"agent {agent.name}'s own tool" for t in agent.tools}
    for tool in tools:
        if tool["name"] in taken:
            raise AgentError("McpToolNameClash", f"MCP server {tool['server']} offers a tool named {tool['name']!r}, "
                             f"the name of {taken[tool['name']]}; choose that server's tools with "
                             "McpServer(..., tools=[...])", 502)
        taken[tool["name"]] = f"MCP server {tool['server']}'s tool {tool['tool']!r}"
    return tools


async def of_run(agent: Agent, run_id: str, store: StreamStore) -> list[dict[str, Any]]:
    """The run's MCP tools: the journaled list, else the servers' lists made now and journaled."""
    if not agent.mcp_servers:
        return []
    key = JOURNAL.format(run_id=run_id)
    if (journaled := await store.recall(key)) is not None:
        return journaled
    return await store.remember(key, await discover(agent), settings.load().stream_ttl_minutes * 60)


def spec(tool: dict[str, Any]) -> dict[str, Any]:
    """The Chat Completions ``tools`` entry for one MCP tool."""
    return {"type": "function", "function": {"name": tool["name"], "description": tool["description"],
                                             "parameters": tool["parameters"]}}


async def find(agent: Agent, run_id: str, name: str, store: StreamStore) -> dict[str, Any] | None:
    """The MCP tool a tool step calls by ``name``; None when the agent has its own tool of that name, or no such."""
    if agent.tool(name) is not None:
        return None
    return next((t for t in await of_run(agent, run_id, store) if t["name"] == name), None)


async def call(agent: Agent, tool: dict[str, Any], arguments: str | None) -> dict[str, Any]:
    """Call one MCP tool with the model's arguments (JSON text): ``{"content", "is_error"}``, never an exception, so
    that whatever went wrong reaches the model as the tool's error."""
    from . import client

    try:
        parsed = json.loads(arguments or "{}")
    except ValueError as exc:
        return {"content": f"error: the arguments are not valid JSON: {exc}", "is_error": True}
    if not isinstance(parsed, dict):
        return {"content": f"error: {tool['name']} takes a JSON object of arguments", "is_error": True}
    server = next((s for s in agent.mcp_servers if s.name == tool["server"]), None)
    if server is None:
        return {"content": f"error: agent {agent.name} no longer has the MCP server {tool['server']}", "is_error": True}
    try:
        return await client.call_tool(server, tool["tool"], parsed)
    except AgentError as exc:
        return {"content": f"error: {exc.message}", "is_error": True}
