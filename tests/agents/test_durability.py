"""Agents survive kill -9: conversations persist, and a finished model call is never made again."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.agents.helpers import wait_run
from tests.fixtures.model_server import ModelServer

pytestmark = pytest.mark.slow


def test_the_conversation_survives_kill_9_and_restart(start_app, model: ModelServer) -> None:
    host = start_app()
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        model.say("Hello Grace.")
        api.post("/agents/assistant/run", json={"message": "I am Grace", "session_id": "crash-1"})
    host.restart()
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        model.say("You are Grace.")
        body = api.post("/agents/assistant/run", json={"message": "Who am I?", "session_id": "crash-1"}).json()
    assert body["response"] == "You are Grace."
    contents = [m.get("content") for m in model.chat_requests()[-1]["body"]["messages"][1:]]
    assert contents == ["I am Grace", "Hello Grace.", "Who am I?"]


def test_a_crash_during_a_tool_call_does_not_repeat_the_finished_model_call(start_app, model: ModelServer) -> None:
    host = start_app()
    # A tool that takes a few seconds (sieving 50 million numbers) gives the test time to kill the host mid-call.
    model.call_tools(("count_primes", {"limit": 50_000_000}))
    model.say("There are 3001134 primes below 50 million.")
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        run_id = api.post("/agents/assistant/run", json={"message": "Count primes", "wait": False}).json()["run_id"]
        deadline = time.monotonic() + 20
        def tool_running() -> bool:
            steps = api.get(f"/runs/{run_id}").json()["steps"]
            return any(s["kind"] == "tool" and s["status"] == "running" for s in steps)

        while not tool_running():
            assert time.monotonic() < deadline, "the tool step never started"
            time.sleep(0.02)
    assert len(model.chat_requests()) == 1
    host.restart()
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        done = wait_run(api, run_id, {"completed", "failed"}, timeout=60)
    assert done["status"] == "completed", done
    requests = model.chat_requests()
    assert len(requests) == 2, "the model call that finished before the crash was made again"
    tool_result = [m for m in requests[1]["body"]["messages"] if m["role"] == "tool"][0]
    assert tool_result["content"] == "3001134"
