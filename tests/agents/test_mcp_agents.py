"""The repository's agents as MCP tools: the real ``mcp`` client against devhost's MCP endpoint
(``/runtime/webhooks/mcp``, where Azure's MCP extension serves the same functions)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, ListToolsResult

from tests.agents.helpers import wait_run
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost

APPROVAL_TOOL = "decide_approval"


def endpoint(host: Devhost) -> str:
    return f"{host.url}/runtime/webhooks/mcp"


async def _session(host: Devhost, work: Callable[[Client], Any], headers: dict[str, str] | None) -> Any:
    async with httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(120)) as http:
        async with Client(streamable_http_client(endpoint(host), http_client=http)) as client:
            return await work(client)


def list_tools(host: Devhost, headers: dict[str, str] | None = None) -> ListToolsResult:
    return asyncio.run(_session(host, lambda client: client.list_tools(), headers))


def call(host: Devhost, tool: str, arguments: dict[str, Any], headers: dict[str, str] | None = None) -> CallToolResult:
    return asyncio.run(_session(host, lambda client: client.call_tool(tool, arguments), headers))


def texts(result: CallToolResult) -> list[str]:
    return [block.text for block in result.content if block.type == "text"]


@pytest.fixture(scope="module")
def host(start_app: Callable[..., Devhost]) -> Devhost:
    return start_app()


@pytest.fixture
def api(host: Devhost) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as client:
        yield client


def test_tools_list_has_one_tool_per_agent_and_the_approval_tool(host: Devhost, api: httpx.Client) -> None:
    agents = [a for a in api.get("/agents").json()["agents"] if not a["remote"]]
    tools = {tool.name: tool for tool in list_tools(host).tools}
    assert set(tools) == {a["name"] for a in agents} | {APPROVAL_TOOL}
    for agent in agents:
        tool = tools[agent["name"]]
        assert tool.description == agent["description"]
        schema = tool.input_schema
        assert schema["type"] == "object"
        assert schema["properties"]["message"]["type"] == "string"
        assert schema["properties"]["session_id"]["type"] == "string"
        assert schema.get("required") == ["message"]
    decide = tools[APPROVAL_TOOL].input_schema
    assert decide["properties"]["approved"]["type"] == "boolean"
    assert sorted(decide["required"]) == ["approved", "run_id"]


def test_a_tool_call_answers_with_the_agents_answer(host: Devhost, model: ModelServer) -> None:
    model.say("Hello from the writer.")
    result = call(host, "writer", {"message": "say hello"})
    assert not result.is_error, result
    assert texts(result)[0] == "Hello from the writer."
    structured = result.structured_content
    assert structured["status"] == "completed" and structured["agent"] == "writer"
    assert structured["session_id"] in texts(result)[1]
    prompt = model.chat_requests()[-1]["body"]["messages"]
    assert prompt[-1] == {"role": "user", "content": "say hello"}


def test_session_id_continues_the_conversation(host: Devhost, api: httpx.Client, model: ModelServer) -> None:
    model.say("Noted: your name is Ada.")
    first = call(host, "assistant", {"message": "my name is Ada"})
    session_id = first.structured_content["session_id"]
    model.say("You are Ada.")
    second = call(host, "assistant", {"message": "what is my name?", "session_id": session_id})
    assert texts(second)[0] == "You are Ada."
    assert second.structured_content["session_id"] == session_id
    contents = [m.get("content") for m in model.chat_requests()[-1]["body"]["messages"]]
    assert "my name is Ada" in contents and "Noted: your name is Ada." in contents
    assert api.get(f"/agents/assistant/sessions/{session_id}").json()["turns"] == 2


def test_a_call_without_a_session_starts_a_new_one(host: Devhost, model: ModelServer) -> None:
    model.say("one")
    model.say("two")
    model.say("three")
    first = call(host, "writer", {"message": "a"})
    second = call(host, "writer", {"message": "b"})
    third = call(host, "writer", {"message": "c", "session_id": ""})
    sessions = {r.structured_content["session_id"] for r in (first, second, third)}
    assert len(sessions) == 3


def test_an_approval_is_reported_with_how_to_decide_it_and_deciding_it_works(host: Devhost,
                                                                           model: ModelServer) -> None:
    email = {"to": "ada@example.com", "subject": "report", "body": "The report is ready."}
    model.call_tools(("send_email", email))
    model.say("The email is sent.")
    waiting = call(host, "assistant", {"message": "email ada that the report is ready"})
    assert not waiting.is_error, waiting
    structured = waiting.structured_content
    run_id = structured["run_id"]
    assert structured["status"] == "awaiting_approval"
    assert structured["pending_approval"]["tool"] == "send_email"
    assert structured["pending_approval"]["arguments"] == email
    approval_url = f"{host.url}/api/runs/{run_id}/approval"
    assert structured["decide"] == {
        "mcp_tool": {"name": APPROVAL_TOOL, "arguments": {"run_id": run_id, "approved": True}},
        "http": {"method": "POST", "url": approval_url, "body": {"approved": True}}}
    said = texts(waiting)[0]
    assert "send_email" in said and "ada@example.com" in said and run_id in said
    assert APPROVAL_TOOL in said and approval_url in said
    done = call(host, APPROVAL_TOOL, {"run_id": run_id, "approved": True})
    assert not done.is_error, done
    assert texts(done)[0] == "The email is sent."
    assert done.structured_content["status"] == "completed"
    tool_result = [m for m in model.chat_requests()[-1]["body"]["messages"] if m["role"] == "tool"][0]
    assert tool_result["content"].startswith("sent to ada@example.com")
    again = call(host, APPROVAL_TOOL, {"run_id": run_id, "approved": True})
    assert again.is_error and "nothing awaits approval" in texts(again)[0]


def test_an_approval_reported_over_mcp_can_be_decided_over_http(host: Devhost, api: httpx.Client,
                                                                model: ModelServer) -> None:
    model.call_tools(("send_email", {"to": "bob@example.com", "subject": "s", "body": "b"}))
    model.say("Not sent, as you asked.")
    waiting = call(host, "assistant", {"message": "email bob"})
    decide = waiting.structured_content["decide"]["http"]
    answered = httpx.post(decide["url"], json={"approved": False, "comment": "not today"})
    assert answered.status_code == 202, answered.text
    done = wait_run(api, waiting.structured_content["run_id"], {"completed", "failed"})
    assert done["status"] == "completed" and done["response"] == "Not sent, as you asked."
    tool_result = [m for m in model.chat_requests()[-1]["body"]["messages"] if m["role"] == "tool"][0]
    assert "denied" in tool_result["content"] and "not today" in tool_result["content"]


def test_a_failed_run_is_an_error_result(host: Devhost, model: ModelServer) -> None:
    for _ in range(3):  # the first call and MODEL_MAX_RETRIES=2 retries
        model.fail(500)
    result = call(host, "writer", {"message": "this will fail"})
    assert result.is_error
    assert "failed" in texts(result)[0] and result.structured_content["status"] == "failed"


def test_bad_arguments_are_error_results(host: Devhost, model: ModelServer) -> None:
    bad_session = call(host, "writer", {"message": "hi", "session_id": "no spaces allowed"})
    assert bad_session.is_error and "session_id" in texts(bad_session)[0]
    empty = call(host, "writer", {"message": "   "})
    assert empty.is_error and "message" in texts(empty)[0]
    unknown = call(host, APPROVAL_TOOL, {"run_id": "no-such-run", "approved": True})
    assert unknown.is_error and "no run with id" in texts(unknown)[0]
    assert model.chat_requests() == []


def test_a_run_that_outlasts_the_wait_is_an_error_result_that_says_where_it_goes_on(
        start_app: Callable[..., Devhost], model: ModelServer) -> None:
    host = start_app(MCP_TOOL_WAIT_SECONDS="1")
    model.say("Finally done.", delay=4)
    result = call(host, "writer", {"message": "take your time"})
    assert result.is_error
    assert "did not finish within 1 s" in texts(result)[0]
    run_id = result.structured_content["run_id"]
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        assert wait_run(api, run_id, {"completed"})["response"] == "Finally done."
    host.stop()


def test_with_enforced_keys_the_mcp_extension_system_key_is_needed(start_app: Callable[..., Devhost],
                                                                  model: ModelServer) -> None:
    host = start_app()
    host.stop()
    host.args = ["--enforce-auth"]
    host.start()
    keys = json.loads((host.data_dir / "keys.json").read_text())
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"accept": "application/json, text/event-stream"}
    assert httpx.post(endpoint(host), json=listing, headers=accept).status_code == 401
    assert httpx.post(endpoint(host), json=listing,
                      headers={**accept, "x-functions-key": keys["functionKey"]}).status_code == 401
    key = {"x-functions-key": keys["mcp_extension"]}
    assert "assistant" in {tool.name for tool in list_tools(host, key).tools}
    model.say("Keyed.")
    assert texts(call(host, "writer", {"message": "hi"}, key))[0] == "Keyed."
    host.stop()
