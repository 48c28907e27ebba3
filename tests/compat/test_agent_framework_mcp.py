"""Microsoft Agent Framework's agents as MCP tools (``enable_mcp_tool_trigger=True``) on devhost, through the
real ``mcp`` client.

The framework's tool function takes the extension's invocation context as JSON text, reads ``arguments.query``
and ``arguments.sessionId``, signals the agent's entity through its durable client binding and polls for the
answer, which it returns as the tool's text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.compat.test_agent_framework import texts
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost

pytest.importorskip("agent_framework_azurefunctions", reason="agent-framework-azurefunctions is not installed")


@pytest.fixture(scope="module")
def host(start_compat_app) -> Devhost:
    return start_compat_app("agent_framework_mcp_app")


def over_mcp(host: Devhost, work: Callable[[Client], Awaitable[Any]]) -> Any:
    async def session() -> Any:
        async with Client(f"{host.url}/runtime/webhooks/mcp", read_timeout_seconds=120) as client:
            return await work(client)
    return asyncio.run(session())


def answer(result: Any) -> str:
    assert not result.is_error, result
    [block] = result.content
    return block.text


def test_tools_list_shows_the_agent_as_a_tool(host: Devhost) -> None:
    [tool] = over_mcp(host, lambda client: client.list_tools()).tools
    assert (tool.name, tool.description) == ("Helper", "Answers questions helpfully.")
    assert tool.input_schema == {
        "type": "object",
        "properties": {"query": {"type": "string", "description": "The query to send to the agent."},
                       "sessionId": {"type": "string",
                                     "description": "Optional session identifier for conversation continuity."}},
        "required": ["query"]}


def test_a_tool_call_answers_with_the_agents_reply(host: Devhost, model: ModelServer) -> None:
    model.say("Hello over MCP.")
    result = over_mcp(host, lambda client: client.call_tool("Helper", {"query": "hi there"}))
    assert answer(result) == "Hello over MCP."
    [request] = model.chat_requests()
    assert ("user", "hi there") in texts(request)


def test_calls_with_one_session_id_continue_one_conversation(host: Devhost, model: ModelServer) -> None:
    model.say("Nice to meet you, Ada.")
    model.say("Your name is Ada.")

    async def work(client: Client) -> list[Any]:
        return [await client.call_tool("Helper", {"query": "my name is Ada", "sessionId": "mcp-memory"}),
                await client.call_tool("Helper", {"query": "what is my name?", "sessionId": "mcp-memory"})]
    first, second = over_mcp(host, work)
    assert (answer(first), answer(second)) == ("Nice to meet you, Ada.", "Your name is Ada.")
    conversation = [entry for entry in texts(model.chat_requests()[-1]) if entry[0] != "system"]
    assert conversation == [("user", "my name is Ada"), ("assistant", "Nice to meet you, Ada."),
                            ("user", "what is my name?")]


def test_a_call_without_a_query_is_refused_before_the_agent_runs(host: Devhost, model: ModelServer) -> None:
    async def work(client: Client) -> MCPError:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("Helper", {"sessionId": "nobody"})
        return raised.value
    refused = over_mcp(host, work)
    assert (refused.code, refused.message) == (-32602, "One or more required tool properties are missing values. "
                                                       "Please provide: query")
    assert model.chat_requests() == []
