"""A remote A2A agent (a second app on devhost) used from a workflow, as a tool, and listed; through a crash too."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.agents.helpers import wait_workflow
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost


@pytest.fixture(scope="module")
def remote(start_app: Callable[..., Devhost]) -> Devhost:
    """The app whose assistant is the remote agent."""
    return start_app()


@pytest.fixture(scope="module")
def caller(start_app: Callable[..., Devhost], remote: Devhost) -> Devhost:
    card = f"{remote.url}/api/a2a/assistant/.well-known/agent-card.json"
    return start_app(REMOTE_A2A_AGENTS=f"helper={card}")


def turns(host: Devhost, session_id: str) -> int:
    found = httpx.get(f"{host.url}/api/agents/assistant/sessions/{session_id}")
    return found.json()["turns"] if found.status_code == 200 else 0


def test_a_remote_agent_is_listed_as_remote(caller: Devhost, remote: Devhost) -> None:
    agents = {a["name"]: a for a in httpx.get(f"{caller.url}/api/agents").json()["agents"]}
    assert agents["helper"]["remote"] is True
    assert agents["helper"]["a2a"]["card"].startswith(remote.url)
    assert agents["assistant"]["remote"] is False


def test_a_workflow_calls_a_remote_agent_as_a_durable_step(caller: Devhost, remote: Devhost,
                                                           model: ModelServer) -> None:
    model.say("Answered remotely.")
    with httpx.Client(base_url=f"{caller.url}/api", timeout=60) as api:
        started = api.post("/workflows/delegate", json={"agent": "helper", "message": "hello over A2A"}).json()
        done = wait_workflow(api, started["id"], {"completed", "failed"})
    assert done["status"] == "completed", done
    assert done["output"]["response"] == "Answered remotely."
    remote_run = httpx.get(f"{remote.url}/api/runs/{done['output']['remote_task_id']}").json()
    assert remote_run["status"] == "completed" and remote_run["response"] == "Answered remotely."


def test_an_agent_asks_a_remote_agent_through_a_tool(caller: Devhost, model: ModelServer) -> None:
    model.call_tools(("helper", {"message": "what is 6 * 7?"}))
    model.say("42")  # the remote assistant's answer
    model.say("The helper says 42.")
    with httpx.Client(base_url=f"{caller.url}/api", timeout=60) as api:
        body = api.post("/agents/delegator/run", json={"message": "ask the helper"}).json()
    assert body["status"] == "completed" and body["response"] == "The helper says 42."
    tool_result = [m for m in model.chat_requests()[-1]["body"]["messages"] if m["role"] == "tool"][0]
    assert tool_result["content"] == "42"


@pytest.mark.slow
def test_a_crash_of_the_caller_follows_the_same_remote_task(caller: Devhost, remote: Devhost,
                                                            model: ModelServer) -> None:
    model.say("Worth the wait.", delay=4)
    with httpx.Client(base_url=f"{caller.url}/api", timeout=60) as api:
        started = api.post("/workflows/delegate", json={"agent": "helper", "message": "take your time"}).json()
        deadline = time.monotonic() + 20
        # Crash once the message is sent: the remote task is running and its id is in the caller's history.
        while not model.chat_requests():
            assert time.monotonic() < deadline, "the remote agent never started"
            time.sleep(0.05)
    caller.restart()
    with httpx.Client(base_url=f"{caller.url}/api", timeout=60) as api:
        done = wait_workflow(api, started["id"], {"completed", "failed"}, timeout=60)
    assert done["status"] == "completed" and done["output"]["response"] == "Worth the wait."
    assert len(model.chat_requests()) == 1, "the message was sent to the remote agent again"
