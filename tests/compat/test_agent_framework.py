"""Microsoft Agent Framework's ``AgentFunctionApp`` (agent-framework-azurefunctions) on devhost.

The app in agent_framework_app/ is the framework's own shape: one agent with a function tool, served at
``POST /api/agents/Helper/run``. The framework keeps each session's conversation in a ``dafx-Helper``
entity and runs the agent's turn inside the entity operation; the HTTP route signals the entity and polls
its state for the answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost

pytest.importorskip("agent_framework_azurefunctions", reason="agent-framework-azurefunctions is not installed")


@pytest.fixture(scope="module")
def host(start_compat_app) -> Devhost:
    return start_compat_app("agent_framework_app")


@pytest.fixture
def api(host: Devhost) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{host.url}/api", timeout=120) as client:
        yield client


def run(api: httpx.Client, message: str, session_id: str) -> dict[str, Any]:
    response = api.post("/agents/Helper/run", json={"message": message, "session_id": session_id})
    assert response.status_code == 200, response.text
    return response.json()


def texts(request: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, text) of every message the model was sent, whatever shape its content has."""
    out = []
    for message in request["body"]["messages"]:
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content)
        out.append((message["role"], content or ""))
    return out


def test_the_app_loads_with_its_agent(api: httpx.Client) -> None:
    health = api.get("/health").json()
    assert health["status"] == "healthy"
    assert [agent["name"] for agent in health["agents"]] == ["Helper"]


def test_an_agent_call_answers_with_the_models_reply(api: httpx.Client, model: ModelServer) -> None:
    model.say("Hello from the scripted model.")
    body = run(api, "hi there", "single")
    assert body["status"] == "success"
    assert body["response"] == "Hello from the scripted model."
    assert body["session_id"] == "single"
    [request] = model.chat_requests()
    assert ("user", "hi there") in texts(request)


def test_a_second_call_on_the_same_session_sends_the_conversation_so_far(
        api: httpx.Client, model: ModelServer) -> None:
    model.say("Nice to meet you, Ada.")
    model.say("Your name is Ada.")
    assert run(api, "my name is Ada", "memory")["response"] == "Nice to meet you, Ada."
    second = run(api, "what is my name?", "memory")
    assert second["response"] == "Your name is Ada."
    last = texts(model.chat_requests()[-1])
    conversation = [entry for entry in last if entry[0] != "system"]
    assert conversation == [("user", "my name is Ada"), ("assistant", "Nice to meet you, Ada."),
                            ("user", "what is my name?")]
    # Another session starts empty.
    model.say("Who are you?")
    run(api, "what is my name?", "someone-else")
    assert [e for e in texts(model.chat_requests()[-1]) if e[0] != "system"] == [("user", "what is my name?")]


def test_a_function_tool_runs_and_its_result_goes_back_to_the_model(api: httpx.Client, model: ModelServer) -> None:
    model.call_tools(("get_weather", {"city": "Paris"}))
    model.say("It is sunny in Paris.")
    body = run(api, "weather in Paris?", "tools")
    assert body["response"] == "It is sunny in Paris."
    first, second = model.chat_requests()
    assert [tool["function"]["name"] for tool in first["body"]["tools"]] == ["get_weather"]
    tool_messages = [m for m in second["body"]["messages"] if m["role"] == "tool"]
    assert len(tool_messages) == 1
    assert "weather-tool says: sunny in Paris" in json.dumps(tool_messages[0]["content"])


def test_concurrent_calls_on_three_sessions_all_complete_with_their_own_answers(
        api: httpx.Client, model: ModelServer) -> None:
    # No scripted replies: the model echoes each request's last user message, so answers cannot be swapped.
    sessions = [f"parallel-{n}" for n in range(3)]

    def two_turns(session_id: str) -> list[str]:
        return [run(api, f"{turn} for {session_id}", session_id)["response"] for turn in ("first", "second")]

    with ThreadPoolExecutor(len(sessions)) as pool:
        answers = dict(zip(sessions, pool.map(two_turns, sessions), strict=True))
    for session_id in sessions:
        assert answers[session_id] == [f"scripted: first for {session_id}", f"scripted: second for {session_id}"]
    # Each session's second model call carried its own first turn and nothing from the others.
    for session_id in sessions:
        [request] = [r for r in model.chat_requests() if ("user", f"second for {session_id}") in texts(r)]
        assert [e for e in texts(request) if e[0] != "system"] == [
            ("user", f"first for {session_id}"), ("assistant", f"scripted: first for {session_id}"),
            ("user", f"second for {session_id}")]
    assert len(model.chat_requests()) == 2 * len(sessions)


def test_an_orchestration_calls_the_agent_twice_in_one_session(host: Devhost, model: ModelServer) -> None:
    model.say("one")
    model.say("two")
    management = f"{host.url}/runtime/webhooks/durabletask"
    started = httpx.post(f"{management}/orchestrators/two_turns/chain-1?timeout=60",
                         json={"first": "turn one", "second": "turn two"}, timeout=90)
    assert started.status_code in (200, 202), started.text
    status = httpx.get(f"{management}/instances/chain-1", timeout=30).json()
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {"first": "one", "second": "two"}
    conversation = [e for e in texts(model.chat_requests()[-1]) if e[0] != "system"]
    assert conversation == [("user", "turn one"), ("assistant", "one"), ("user", "turn two")]
