"""An agent uses the tools of an MCP server (a real one, in this process, over streamable HTTP) as durable steps.

The repository's app gets the server through ``MCP_SERVERS``; the scripted model calls the server's tools; the
server counts what it was asked, so the tests see how often a tool really ran.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from durable_agents import Agent, McpServer, tool
from tests.agents.helpers import wait_run
from tests.fixtures.model_server import ModelServer, Reply
from tests.fixtures.processes import Devhost, free_port


class ToolServer:
    """An MCP server with a few tools, served by uvicorn on a thread of the test process; ``stop()`` ends it."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()  # tool calls that reached a tool
        self.methods: Counter[str] = Counter()  # every request, by MCP method
        self.port = free_port()
        server = MCPServer("words", middleware=[self._count])

        @server.tool(annotations=ToolAnnotations(read_only_hint=True))
        def define(word: str) -> str:
            """What a word means."""
            self.calls["define"] += 1
            return f"{word}: lasting a long time"

        @server.tool()
        def refuse(reason: str) -> str:
            """Never does anything."""
            self.calls["refuse"] += 1
            raise ToolError(f"refused because {reason}")

        @server.tool()
        async def file_note(text: str) -> str:
            """File a note (slowly; not safe to repeat)."""
            self.calls["file_note"] += 1
            await asyncio.sleep(3)
            return f"filed {text!r}"

        @server.tool(annotations=ToolAnnotations(idempotent_hint=True))
        async def store_setting(value: str) -> str:
            """Store a setting (slowly; safe to repeat)."""
            self.calls["store_setting"] += 1
            await asyncio.sleep(3)
            return f"stored {value!r}"

        config = uvicorn.Config(server.streamable_http_app(), host="127.0.0.1", port=self.port, log_level="warning")
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._uvicorn.run, daemon=True)

    async def _count(self, ctx: Any, call_next: Any) -> Any:
        self.methods[ctx.method] += 1
        return await call_next(ctx)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> ToolServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._uvicorn.started:
            assert time.monotonic() < deadline, "the MCP server did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._uvicorn.should_exit = True
        self._thread.join(timeout=10)

    def reset(self) -> None:
        self.calls.clear()
        self.methods.clear()


@pytest.fixture(scope="module")
def tool_server() -> Iterator[ToolServer]:
    server = ToolServer().start()
    yield server
    server.stop()


@pytest.fixture
def tools(tool_server: ToolServer) -> ToolServer:
    tool_server.reset()
    return tool_server


@pytest.fixture(scope="module")
def host(start_app: Callable[..., Devhost], tool_server: ToolServer) -> Devhost:
    return start_app(MCP_SERVERS=f"words={tool_server.url}")


@pytest.fixture
def api(host: Devhost) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as client:
        yield client


@tool
def shout(text: str) -> str:
    """Say it louder."""
    return text.upper()


def test_an_agent_takes_mcp_servers_among_its_tools_and_checks_them() -> None:
    words = McpServer("words", "http://127.0.0.1:1/mcp", tools=["define"])
    agent = Agent("speaker", "speaks", "speak", tools=[shout, words])
    assert agent.tools == (shout,) and agent.mcp_servers == (words,)
    assert agent.describe()["mcp_servers"] == [{"name": "words", "tools": ["define"]}]
    with pytest.raises(TypeError, match="Tool .* or McpServer"):
        Agent("speaker", "speaks", "speak", tools=[print])
    with pytest.raises(ValueError, match="MCP server names must be unique"):
        Agent("speaker", "speaks", "speak", tools=[words, McpServer("words", "http://127.0.0.1:2/mcp")])
    with pytest.raises(ValueError, match="tool names must be unique"):
        Agent("speaker", "speaks", "speak", tools=[shout, McpServer("loud", "http://127.0.0.1:2/mcp", tools=["shout"])])
    with pytest.raises(ValueError, match="url must be http"):
        McpServer("files", "file:///etc/passwd")


def tool_messages(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in request["body"]["messages"] if m["role"] == "tool"]


def offered(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["function"]["name"]: t["function"] for t in request["body"].get("tools") or []}


def test_the_model_calls_an_mcp_tool_that_runs_once(api: httpx.Client, model: ModelServer, tools: ToolServer) -> None:
    model.call_tools(("define", {"word": "durable"}))
    model.say("Durable means lasting.")
    body = api.post("/agents/assistant/run", json={"message": "what does durable mean?"}).json()
    assert body["status"] == "completed", body
    assert body["response"] == "Durable means lasting."
    assert tools.calls["define"] == 1
    first, second = model.chat_requests()
    assert tool_messages(second)[0]["content"] == "durable: lasting a long time"
    define = offered(first)["define"]
    assert define["description"] == "What a word means."
    assert define["parameters"]["properties"]["word"]["type"] == "string"
    assert define["parameters"]["required"] == ["word"]
    assert {"calculate", "define", "refuse", "file_note"} <= set(offered(first))
    assert [(s["kind"], s["name"], s["status"]) for s in body["steps"] if s["kind"] == "tool"] == [
        ("tool", "define", "completed")]


def test_a_run_lists_the_servers_tools_once_for_all_its_model_steps(api: httpx.Client, model: ModelServer,
                                                                    tools: ToolServer) -> None:
    model.call_tools(("calculate", {"expression": "2*3"}))
    model.call_tools(("calculate", {"expression": "6*7"}))
    model.say("42.")
    body = api.post("/agents/assistant/run", json={"message": "multiply twice"}).json()
    assert body["status"] == "completed", body
    steps = model.chat_requests()
    assert len(steps) == 3
    assert offered(steps[1]) == offered(steps[0]) == offered(steps[2]), "a later model step offered other tools"
    assert tools.methods["tools/list"] == 1


def test_an_mcp_tool_error_reaches_the_model_as_a_tool_error(api: httpx.Client, model: ModelServer,
                                                            tools: ToolServer) -> None:
    model.call_tools(("refuse", {"reason": "it is Sunday"}))
    model.say("The tool refused.")
    body = api.post("/agents/assistant/run", json={"message": "try the refuse tool"}).json()
    assert body["status"] == "completed", body
    assert tools.calls["refuse"] == 1
    content = tool_messages(model.chat_requests()[-1])[0]["content"]
    assert content.startswith("error: ") and "refused because it is Sunday" in content
    assert [s["status"] for s in body["steps"] if s["kind"] == "tool"] == ["failed"]


def test_arguments_the_server_rejects_reach_the_model_as_a_tool_error(api: httpx.Client, model: ModelServer,
                                                                     tools: ToolServer) -> None:
    model.call_tools(("define", {"term": "durable"}))
    model.say("I passed the wrong argument.")
    body = api.post("/agents/assistant/run", json={"message": "define it"}).json()
    assert body["status"] == "completed", body
    assert tools.calls["define"] == 0
    content = tool_messages(model.chat_requests()[-1])[0]["content"]
    assert content.startswith("error: ") and "word" in content


def test_an_unreachable_server_fails_the_run_with_a_clear_message(start_app: Callable[..., Devhost],
                                                                  model: ModelServer) -> None:
    gone = f"http://127.0.0.1:{free_port()}/mcp"
    host = start_app(MCP_SERVERS=f"gone={gone}")
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        body = api.post("/agents/assistant/run", json={"message": "hello"}).json()
        assert body["status"] == "failed", body
    assert f"MCP server gone at {gone} could not be used" in body["error"]
    assert "ConnectError" in body["error"]
    assert model.chat_requests() == [], "the model was asked without the server's tools"
    host.stop()


def test_a_server_gone_after_listing_is_a_tool_error_for_the_model(start_app: Callable[..., Devhost],
                                                                   model: ModelServer) -> None:
    server = ToolServer().start()
    host = start_app(MCP_SERVERS=f"brief={server.url}")
    try:
        # The model takes its time to ask for the tool; the server goes away meanwhile.
        model.replies.append(Reply(tool_calls=[{"id": "call_gone", "type": "function",
                                                "function": {"name": "define", "arguments": '{"word": "x"}'}}],
                                   delay=2))
        model.say("The word server is gone.")
        with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
            run_id = api.post("/agents/assistant/run", json={"message": "define x", "wait": False}).json()["run_id"]
            deadline = time.monotonic() + 20
            while not server.methods["tools/list"]:
                assert time.monotonic() < deadline, "the run never listed the server's tools"
                time.sleep(0.02)
            server.stop()
            body = wait_run(api, run_id, {"completed", "failed"})
        assert body["status"] == "completed", body
        assert server.calls["define"] == 0
        content = tool_messages(model.chat_requests()[-1])[0]["content"]
        assert content.startswith(f"error: MCP server brief at {server.url} could not be used")
    finally:
        server.stop()
        host.stop()


def crash_during(host: Devhost, api: httpx.Client, tools: ToolServer, name: str) -> dict[str, Any]:
    """Start a run whose model calls ``name``, kill -9 the host while the tool runs, and let the run finish."""
    run_id = api.post("/agents/assistant/run", json={"message": f"use {name}", "wait": False}).json()["run_id"]
    deadline = time.monotonic() + 20
    while not tools.calls[name]:
        assert time.monotonic() < deadline, f"{name} was never called"
        time.sleep(0.02)
    host.restart()
    return wait_run(api, run_id, {"completed", "failed"}, timeout=60)


@pytest.mark.slow
def test_a_crash_does_not_repeat_an_mcp_tool_that_is_not_safe_to_repeat(host: Devhost, api: httpx.Client,
                                                                        model: ModelServer, tools: ToolServer) -> None:
    model.call_tools(("file_note", {"text": "call the plumber"}))
    model.say("The note may or may not be filed.")
    body = crash_during(host, api, tools, "file_note")
    assert body["status"] == "completed", body
    assert tools.calls["file_note"] == 1
    content = tool_messages(model.chat_requests()[-1])[0]["content"]
    assert "file_note was interrupted by a crash" in content


@pytest.mark.slow
def test_a_crash_repeats_an_mcp_tool_the_server_marks_idempotent(host: Devhost, api: httpx.Client,
                                                                 model: ModelServer, tools: ToolServer) -> None:
    model.call_tools(("store_setting", {"value": "dark mode"}))
    model.say("Stored.")
    body = crash_during(host, api, tools, "store_setting")
    assert body["status"] == "completed", body
    assert tools.calls["store_setting"] == 2
    assert tool_messages(model.chat_requests()[-1])[0]["content"] == "stored 'dark mode'"
