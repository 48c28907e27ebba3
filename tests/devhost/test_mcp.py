"""devhost serves an app's MCP triggers at /runtime/webhooks/mcp as Azure's MCP extension does.

The app in mcp_app/ declares tools, resources and prompts with azure-functions' own decorators; the real ``mcp``
client SDK talks to devhost over Streamable HTTP and over the legacy SSE transport.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.fixtures.processes import Devhost

APP = Path(__file__).parent / "mcp_app"
WEBHOOK = "/runtime/webhooks/mcp"
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
TOOLS = {"echo", "whoami", "add", "explode", "slow", "forecast", "nothing"}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devhost]:
    devhost = Devhost(app_dir=APP, data_dir=tmp_path_factory.mktemp("mcp") / "data").start()
    yield devhost
    devhost.stop()


def over_http(host: Devhost, work: Callable[[Client], Awaitable[Any]], headers: dict[str, str] | None = None,
              path: str = WEBHOOK) -> Any:
    async def session() -> Any:
        async with httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(60)) as http:
            async with Client(streamable_http_client(f"{host.url}{path}", http_client=http)) as client:
                return await work(client)
    return asyncio.run(session())


def over_sse(host: Devhost, work: Callable[[Client], Awaitable[Any]], headers: dict[str, str] | None = None) -> Any:
    async def session() -> Any:
        async with Client(sse_client(f"{host.url}{WEBHOOK}/sse", headers=headers), mode="legacy") as client:
            return await work(client)
    return asyncio.run(session())


def post(host: Devhost, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.post(f"{host.url}{WEBHOOK}", content=content, headers={**ACCEPT, **(headers or {})}, timeout=30)


def event(response: httpx.Response) -> dict[str, Any]:
    """The one JSON-RPC message of a Streamable HTTP answer."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = response.text.splitlines()
    assert lines[0] == "event: message"
    return json.loads(lines[1].removeprefix("data: "))


def request(method: str, params: Any = None, id: Any = 1) -> dict[str, Any]:
    message = {"jsonrpc": "2.0", "id": id, "method": method}
    return message if params is None else {**message, "params": params}


def text(result: Any) -> str:
    [block] = result.content
    return block.text


def test_initialize_names_the_server_from_host_json(host: Devhost) -> None:
    async def work(client: Client) -> Any:
        return client.server_info, client.instructions, client.protocol_version, client.server_capabilities
    info, instructions, version, capabilities = over_http(host, work)
    assert (info.name, info.version, instructions, version) == ("devhost MCP tests", "2.5.0", "Tools for tests.",
                                                               "2025-06-18")
    assert capabilities.tools is not None and capabilities.resources is not None and capabilities.prompts is not None

    answer = post(host, request("initialize", {"protocolVersion": "2024-11-05", "capabilities": {},
                                               "clientInfo": {"name": "raw", "version": "1"}}))
    assert event(answer)["result"]["protocolVersion"] == "2024-11-05"
    client_id, instance_id = answer.headers["mcp-session-id"].split("|")
    assert len(client_id) == len(instance_id) == 16
    unknown = post(host, request("initialize", {"protocolVersion": "1999-01-01", "capabilities": {},
                                                "clientInfo": {"name": "raw", "version": "1"}}))
    assert event(unknown)["result"]["protocolVersion"] == "2025-06-18"
    assert event(unknown)["result"]["capabilities"] == {"logging": {}, "prompts": {}, "resources": {}, "tools": {}}
    # Only an initialize without a session gets one; no state is kept for it.
    again = post(host, request("ping"), {"mcp-session-id": answer.headers["mcp-session-id"]})
    assert event(again) == {"jsonrpc": "2.0", "id": 1, "result": {}} and "mcp-session-id" not in again.headers


def test_tools_list_shows_each_tool_with_the_schema_built_from_its_properties(host: Devhost) -> None:
    tools = {tool.name: tool for tool in over_http(host, lambda client: client.list_tools()).tools}
    assert set(tools) == TOOLS  # "ECHO", claimed a second time by echo_again, is left out
    assert tools["echo"].description == "Say the text back."
    assert tools["echo"].input_schema == {
        "type": "object",
        "properties": {"text": {"type": "string", "description": "What to say back."},
                       "times": {"type": "integer", "description": "How often."},
                       "mood": {"type": "string", "enum": ["calm", "loud"], "description": ""}},
        "required": ["text"]}
    assert tools["add"].description == "Add up steps, asynchronously."
    assert tools["add"].input_schema == {
        "type": "object",
        "properties": {"count": {"type": "integer", "description": "How many to add."},
                       "step": {"type": "number", "description": ""},
                       "tags": {"type": "array", "items": {"type": "string"}, "description": ""},
                       "loud": {"type": "boolean", "description": ""},
                       "note": {"type": "string", "description": ""}},
        "required": ["count", "step", "tags"]}
    assert tools["whoami"].input_schema == {"type": "object", "properties": {}, "required": []}
    assert tools["whoami"].meta == {"ui": {"hint": "debug"}}
    assert "left out: a tool named 'ECHO' is already registered" in host.log()


def test_sync_and_async_tools_answer_with_what_they_return(host: Devhost) -> None:
    async def work(client: Client) -> list[Any]:
        return [await client.call_tool("echo", {"text": "hi", "times": 2}),
                await client.call_tool("add", {"count": 3, "step": 0.5, "tags": ["a", "b"], "loud": True}),
                await client.call_tool("EcHo", {"text": "any case"}),
                await client.call_tool("nothing", {})]
    echo, add, any_case, nothing = over_http(host, work)
    assert (text(echo), text(add), text(any_case), text(nothing)) == ("hi hi", "1.5 A,B", "any case", "")
    assert not any(result.is_error for result in (echo, add, any_case, nothing))


def test_a_structured_result_has_text_and_structured_content(host: Devhost) -> None:
    result = over_http(host, lambda client: client.call_tool("forecast", {"city": "Oslo"}))
    assert json.loads(text(result)) == result.structured_content == {"city": "Oslo", "degrees": 21}


def test_a_raising_tool_is_an_error_result_and_the_host_keeps_serving(host: Devhost) -> None:
    async def work(client: Client) -> list[Any]:
        return [await client.call_tool("explode", {"reason": "on purpose"}), await client.call_tool("echo",
                                                                                                   {"text": "still"})]
    failed, after = over_http(host, work)
    assert failed.is_error and text(failed) == "An error occurred invoking 'explode'."
    assert text(after) == "still"
    assert "RuntimeError: exploded: on purpose" in host.log()
    raw = event(post(host, request("tools/call", {"name": "explode", "arguments": {"reason": "raw"}})))
    assert raw["result"] == {"content": [{"type": "text", "text": "An error occurred invoking 'explode'."}],
                             "isError": True}


def test_unknown_tools_and_missing_arguments_are_invalid_params(host: Devhost) -> None:
    async def attempt(client: Client, name: str, arguments: dict[str, Any]) -> MCPError:
        with pytest.raises(MCPError) as raised:
            await client.call_tool(name, arguments)
        return raised.value

    async def work(client: Client) -> list[MCPError]:
        return [await attempt(client, "nope", {}), await attempt(client, "echo", {"times": 2}),
                await attempt(client, "add", {"count": 1, "step": None})]
    unknown, missing, null = over_http(host, work)
    assert (unknown.code, unknown.message) == (-32602, "Unknown tool: 'nope'")
    assert (missing.code, missing.message) == (-32602, "One or more required tool properties are missing values. "
                                                       "Please provide: text")
    assert null.message.endswith("Please provide: step, tags")


def test_the_function_gets_the_invocation_context_the_extension_passes(host: Devhost) -> None:
    http = json.loads(text(over_http(host, lambda client: client.call_tool("whoami", {"n": 1, "deep": {"x": [1]}}),
                                     headers={"x-test": "yes"})))
    assert http["name"] == "whoami" and http["arguments"] == {"n": 1, "deep": {"x": [1]}}
    assert http["transport"]["name"] == "http-streamable"
    assert http["sessionid"] == http["transport"]["sessionId"] == http["transport"]["properties"]["headers"][
        "mcp-session-id"]
    assert http["transport"]["properties"]["headers"]["x-test"] == "yes"
    assert "clientinfo" not in http  # each Streamable HTTP request is a fresh, stateless session

    sse = json.loads(text(over_sse(host, lambda client: client.call_tool("whoami", {}), headers={"x-test": "sse"})))
    assert sse["transport"]["name"] == "http-sse" and sse["clientinfo"]["name"] == "mcp"
    assert sse["transport"]["properties"]["headers"]["x-test"] == "sse"
    assert "sessionid" not in sse and "sessionId" not in sse["transport"]


def test_resources_and_prompts(host: Devhost) -> None:
    async def work(client: Client) -> list[Any]:
        return [await client.list_resources(), await client.list_resource_templates(),
                await client.read_resource("file://readme.txt"), await client.read_resource("FILE://Notes/todo"),
                await client.list_prompts(), await client.get_prompt("greet", {"who": "Ada"})]
    resources, templates, readme, todo, prompts, greeting = over_http(host, work)
    assert [(r.uri, r.name, r.mime_type) for r in resources.resources] == [("file://readme.txt", "readme",
                                                                            "text/plain")]
    assert [(t.uri_template, t.name) for t in templates.resource_templates] == [("file://notes/{name}", "note")]
    assert [(c.uri, c.mime_type, c.text) for c in readme.contents] == [("file://readme.txt", "text/plain",
                                                                        "Read me first.")]
    assert [(c.uri, c.text) for c in todo.contents] == [("FILE://Notes/todo", "# note todo")]
    [prompt] = prompts.prompts
    assert (prompt.name, [(a.name, a.required) for a in prompt.arguments]) == ("greet", [("who", True)])
    assert [(m.role, m.content.text) for m in greeting.messages] == [("user", "Say hello to Ada.")]
    unknown = event(post(host, request("resources/read", {"uri": "file://nowhere"})))
    assert unknown["error"] == {"code": -32602, "message": "Unknown resource: 'file://nowhere'"}
    missing = event(post(host, request("prompts/get", {"name": "greet"})))
    assert missing["error"]["message"] == ("One or more required prompt arguments are missing values. "
                                           "Please provide: who")


def test_the_legacy_sse_transport_lists_and_calls_tools(host: Devhost) -> None:
    async def work(client: Client) -> list[Any]:
        return [await client.list_tools(), await client.call_tool("add", {"count": 2, "step": 2, "tags": ["x"]}),
                await client.call_tool("explode", {"reason": "sse"})]
    tools, added, failed = over_sse(host, work)
    assert {tool.name for tool in tools.tools} == TOOLS
    assert text(added) == "4 x"
    assert failed.is_error and text(failed) == "An error occurred invoking 'explode'."


def _sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    kind = ""
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield kind, line.removeprefix("data: ")


def test_an_sse_session_gets_its_endpoint_then_a_ping_every_25_seconds(host: Devhost) -> None:
    with httpx.stream("GET", f"{host.url}{WEBHOOK}/sse?code=abc", timeout=40) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(stream.iter_lines())
        kind, endpoint = next(events)
        assert kind == "endpoint" and endpoint.startswith("message?azmcpcs=") and endpoint.endswith("&code=abc")
        kind, ping = next(events)
        assert kind == "message" and json.loads(ping) == {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        answered = httpx.post(f"{host.url}{WEBHOOK}/{endpoint}", json={"jsonrpc": "2.0", "id": 1, "result": {}})
        assert (answered.status_code, answered.text) == (202, "Accepted")


def test_a_request_cancelled_on_an_sse_session_gets_no_answer(host: Devhost) -> None:
    with httpx.stream("GET", f"{host.url}{WEBHOOK}/sse", timeout=30) as stream:
        events = _sse_events(stream.iter_lines())
        _, endpoint = next(events)
        url = f"{host.url}{WEBHOOK}/{endpoint}"
        assert httpx.post(url, json=request("tools/call", {"name": "slow", "arguments": {"seconds": 1}}, id=7)
                          ).status_code == 202
        httpx.post(url, json={"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}})
        time.sleep(2)
        httpx.post(url, json=request("tools/call", {"name": "echo", "arguments": {"text": "after"}}, id=8))
        _, data = next(events)
        assert json.loads(data)["id"] == 8


def test_the_sse_message_endpoint_refuses_what_reaches_no_session(host: Devhost) -> None:
    message = f"{host.url}{WEBHOOK}/message"
    cases = [(message, 400, "Missing service context."), (f"{message}?azmcpcs=one-part", 400, "Invalid client state."),
             (f"{message}?azmcpcs=aaaa|bbbb", 400, "No active session for client 'aaaa'")]
    for url, status, start in cases:
        response = httpx.post(url, json=request("ping"))
        assert response.status_code == status and response.json()["error"]["message"].startswith(start), url
    with httpx.stream("GET", f"{host.url}{WEBHOOK}/sse", timeout=30) as stream:
        _, endpoint = next(_sse_events(stream.iter_lines()))
        url = f"{host.url}{WEBHOOK}/{endpoint}"
        for body, status in [(b"{", 400), (b"[]", 400), (b"null", 400)]:
            assert httpx.post(url, content=body, headers={"content-type": "application/json"}).status_code == status
        assert httpx.post(url, content=b"{}", headers={"content-type": "text/plain"}).status_code == 415


DEEP = b"[" * 100_000 + b"]" * 100_000
BAD_POSTS = [
    ("not JSON", {}, b"{nope", 400, -32700),
    ("empty", {}, b"", 400, -32700),
    ("a batch", {}, b"[]", 400, -32600),
    ("a number", {}, b"42", 400, -32600),
    ("JSON null", {}, b"null", 400, -32000),
    ("no jsonrpc", {}, b'{"id": 1, "method": "ping"}', 400, -32600),
    ("jsonrpc 1.0", {}, b'{"jsonrpc": "1.0", "id": 1, "method": "ping"}', 400, -32600),
    ("a float id", {}, b'{"jsonrpc": "2.0", "id": 1.5, "method": "ping"}', 400, -32600),
    ("a method number", {}, b'{"jsonrpc": "2.0", "id": 1, "method": 7}', 400, -32600),
    ("neither", {}, b'{"jsonrpc": "2.0"}', 400, -32600),
    ("deep", {}, DEEP, 400, -32700),
    ("65 levels", {}, b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": ' + b"[" * 64 + b"]" * 64 + b"}",
     400, -32700),
    ("NaN", {}, b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"a": NaN}}', 400, -32700),
    ("1e400", {}, b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"a": 1e400}}', 400, -32700),
    ("a lone surrogate", {}, b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"a": "\\ud800"}}', 400,
     -32700),
    ("not UTF-8", {}, b'{"jsonrpc": "2.0", "id": 1, "method": "\xff"}', 400, -32700),
    ("text/plain", {"content-type": "text/plain"}, b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}', 415, -32000),
    ("oversized", {}, b" " * (16 * 1024 * 1024 + 1), 413, -32000),
    ("no Accept", {"accept": "application/json"}, b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}', 406, -32000),
    ("a bad session", {"mcp-session-id": "no-bar"}, b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}', 400, -32000),
]


@pytest.mark.parametrize(("headers", "body", "status", "code"), [case[1:] for case in BAD_POSTS],
                         ids=[case[0] for case in BAD_POSTS])
def test_a_bad_post_is_a_4xx_jsonrpc_error(host: Devhost, headers: dict[str, str], body: bytes, status: int,
                                           code: int) -> None:
    response = post(host, None, headers, raw=body)
    assert response.status_code == status, response.text[:300]
    assert response.json()["jsonrpc"] == "2.0" and response.json()["error"]["code"] == code
    assert {tool.name for tool in over_http(host, lambda client: client.list_tools()).tools} == TOOLS


BAD_REQUESTS = [
    (request("tools/nope"), -32601, "Method 'tools/nope' is not available."),
    (request("completion/complete", {}), -32601, "Method 'completion/complete' is not available."),
    (request("tools/call", [1, 2]), -32602, None),
    (request("tools/call", {"name": 5}), -32602, None),
    (request("tools/call", {"name": "echo", "arguments": [1]}), -32602, None),
    (request("initialize", {"protocolVersion": "2025-06-18"}), -32602, None),
    (request("logging/setLevel", {"level": "loudest"}), -32602, None),
    (request("resources/read", {"uri": "not a uri"}), -32602, None),
    (request("prompts/get", {"name": "nope"}), -32602, "Unknown prompt: 'nope'"),
]


@pytest.mark.parametrize(("message", "code", "text"), BAD_REQUESTS, ids=[str(case[0]) for case in BAD_REQUESTS])
def test_a_bad_request_is_answered_with_its_jsonrpc_error(host: Devhost, message: dict[str, Any], code: int,
                                                          text: str | None) -> None:
    answer = event(post(host, message))
    assert answer["id"] == 1 and answer["error"]["code"] == code
    assert text is None or answer["error"]["message"] == text


def test_notifications_are_accepted_and_other_methods_refused(host: Devhost) -> None:
    accepted = post(host, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert (accepted.status_code, accepted.content) == (202, b"")
    for method in ("GET", "DELETE", "PUT"):
        refused = httpx.request(method, f"{host.url}{WEBHOOK}", headers=ACCEPT)
        assert refused.status_code == 405 and refused.json()["error"]["code"] == -32000
    assert event(post(host, request("logging/setLevel", {"level": "info"}, id="str-id"))) == {
        "jsonrpc": "2.0", "id": "str-id", "result": {}}


def test_a_page_elsewhere_cannot_post_to_the_endpoint(host: Devhost) -> None:
    refused = post(host, request("tools/call", {"name": "echo", "arguments": {"text": "x"}}),
                   {"origin": "http://evil.example"})
    assert refused.status_code == 403


def test_with_enforced_keys_the_endpoint_needs_the_mcp_extension_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # A keys.json written before devhost had the MCP key keeps its keys and gains that one.
    old = {"functionKey": "fn-key", "masterKey": "master-key", "systemKey": "durable-key"}
    (data / "keys.json").write_text(json.dumps(old))
    host = Devhost(app_dir=APP, data_dir=data, args=["--enforce-auth"]).start()
    try:
        keys = json.loads((data / "keys.json").read_text())
        assert {k: keys[k] for k in old} == old and len(keys["mcp_extension"]) >= 32
        for key in (None, "fn-key", "durable-key", "wrong"):
            headers = {"x-functions-key": key} if key else {}
            refused = post(host, request("ping"), headers)
            assert refused.status_code == 401 and refused.json()["error"]["code"] == -32000, key
            assert httpx.get(f"{host.url}{WEBHOOK}/sse", headers=headers).status_code == 401
        with pytest.raises(BaseException) as unkeyed:  # the client raises it inside its task groups
            over_http(host, lambda client: client.list_tools())
        assert "401 Unauthorized" in repr(unkeyed.value) and "mcp_extension" in repr(unkeyed.value)
        assert event(post(host, request("ping"), {"x-functions-key": keys["mcp_extension"]}))["result"] == {}
        assert event(post(host, request("ping"), {"x-functions-key": "master-key"}))["result"] == {}
        by_query = over_http(host, lambda client: client.call_tool("echo", {"text": "keyed"}),
                             path=f"{WEBHOOK}?code={keys['mcp_extension']}")
        assert text(by_query) == "keyed"
        # The SSE endpoint event carries the key on, so the client's posts are let in.
        over_header = over_sse(host, lambda client: client.call_tool("echo", {"text": "sse keyed"}),
                               headers={"x-functions-key": keys["mcp_extension"]})
        assert text(over_header) == "sse keyed"
    finally:
        host.stop()


def test_an_app_without_mcp_triggers_has_no_mcp_endpoint(tmp_path: Path) -> None:
    host = Devhost(app_dir=APP.parent / "app", data_dir=tmp_path / "data").start()
    try:
        assert post(host, request("ping")).status_code == 404
    finally:
        host.stop()
