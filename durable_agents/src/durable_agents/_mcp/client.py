"""Speaking to an MCP server with the ``mcp`` SDK's client over streamable HTTP: list its tools, call one.

Each function opens its own connection and closes it: they run inside durable steps, which may run in any process.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, ContentBlock
from mcp_types import Tool as McpTool

from .._errors import AgentError
from .servers import McpServer

MAX_PAGES = 100  # a server whose listing never ends cannot hold a step forever


def _leaves(exc: BaseException) -> list[BaseException]:
    """The transport's task groups wrap what went wrong: find the errors themselves."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def failure(server: McpServer, exc: BaseException) -> AgentError:
    """What went wrong reaching ``server``, said so that a person knows which server and why."""
    reasons = "; ".join(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__ for e in _leaves(exc))
    return AgentError("McpServerFailed", f"MCP server {server.name} at {server.url} could not be used: {reasons}",
                      502)


@asynccontextmanager
async def _connect(server: McpServer) -> AsyncIterator[Client]:
    timeout = httpx2.Timeout(server.timeout_seconds)
    async with httpx2.AsyncClient(headers=dict(server.headers), timeout=timeout) as http:
        transport = streamable_http_client(server.url, http_client=http)
        async with Client(transport, read_timeout_seconds=server.timeout_seconds) as client:
            yield client


def _listed(tool: McpTool) -> dict[str, Any]:
    hints = tool.annotations
    return {"tool": tool.name, "description": tool.description or tool.title or tool.name,
            "parameters": tool.input_schema,
            "idempotent": bool(hints and (hints.read_only_hint or hints.idempotent_hint))}


async def list_tools(server: McpServer) -> list[dict[str, Any]]:
    """Every tool the server lists: ``{"tool", "description", "parameters", "idempotent"}``; an AgentError when the
    server cannot be reached or answers with an error."""
    try:
        async with _connect(server) as client:
            tools: list[McpTool] = []
            cursor: str | None = None
            for _ in range(MAX_PAGES):
                page = await client.list_tools(cursor=cursor)
                tools.extend(page.tools)
                cursor = page.next_cursor
                if cursor is None:
                    break
    except Exception as exc:
        raise failure(server, exc) from exc
    return [_listed(t) for t in tools]


def _text(block: ContentBlock) -> str:
    if block.type == "text":
        return block.text
    if block.type == "resource":
        return getattr(block.resource, "text", None) or f"[resource {block.resource.uri}]"
    if block.type == "resource_link":
        return f"[resource link {block.uri}]"
    return f"[{block.type} content of type {getattr(block, 'mime_type', 'unknown')}, not shown]"


def result_text(result: CallToolResult) -> str:
    """What the model reads of a tool result: its text content, else its structured content as JSON."""
    texts = [_text(block) for block in result.content]
    if not texts and result.structured_content is not None:
        return json.dumps(result.structured_content)
    return "\n".join(texts)


async def call_tool(server: McpServer, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """One ``tools/call``: ``{"content", "is_error"}``. A tool's error result and a server's error answer are
    error results for the model; an AgentError when the server cannot be reached."""
    try:
        async with _connect(server) as client:
            result = await client.call_tool(tool, arguments)
    except Exception as exc:
        leaves = _leaves(exc)
        if not all(isinstance(e, MCPError) for e in leaves):
            raise failure(server, exc) from exc
        reasons = "; ".join(str(e) for e in leaves)
        return {"content": f"error: MCP server {server.name} refused the call of {tool}: {reasons}", "is_error": True}
    text = result_text(result)
    return {"content": f"error: {text}" if result.is_error else text, "is_error": result.is_error}
