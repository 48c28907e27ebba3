"""A model or tool step that runs again (its result was not recorded before a crash) uses its journaled result.

The steps are called here as devhost calls them after a crash, a second time with the same run and step, with
the real store, the scripted model over HTTP and a durable client of a running app; a crash cannot be timed to
fall between a step's return and its commit, so the chaos tests count the end-to-end effect instead.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import pytest

from devhost.durable.client_binding import client_binding
from durable_agents import _steps as steps
from durable_agents._catalogue import add_agents
from durable_agents._streams import open_store
from tests.fixtures.agent_app import app_env
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost


@pytest.fixture
def in_app(host: Devhost, model: ModelServer, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> df.DurableOrchestrationClient:
    """This process set up as the app's worker: its settings, its agents, and a durable client of the host."""
    from agent_app.agents import AGENTS

    for key, value in app_env(model, tmp_path).items():
        monkeypatch.setenv(key, value)
    add_agents(AGENTS)
    return df.DurableOrchestrationClient(client_binding(host.url, "agenttests", None, None))


def twice(call: Any, payload: dict[str, Any], *args: Any) -> tuple[Any, Any, list[dict[str, Any]]]:
    async def main() -> tuple[Any, Any, list[dict[str, Any]]]:
        first = await call(payload, *args)
        second = await call(payload, *args)
        events = [e.event for e in await open_store().read(payload["run_id"], None)]
        return first, second, events

    return asyncio.run(main())


def model_payload(run_id: str) -> dict[str, Any]:
    return {"agent": "assistant", "session_id": f"journal-{run_id}", "run_id": run_id, "step": "model-0",
            "run_messages": [{"role": "user", "content": "hello"}], "response_format": None, "use_tools": True}


def test_a_model_step_that_runs_again_does_not_ask_the_model_again(in_app, model: ModelServer) -> None:
    model.say("Hello there.")
    first, second, events = twice(steps.model_step, model_payload(uuid.uuid4().hex), in_app)
    assert first["message"]["content"] == "Hello there."
    assert second == first
    assert len(model.chat_requests()) == 1
    assert "step_restart" not in [e["type"] for e in events]


def test_a_tool_step_that_runs_again_returns_its_journaled_result(in_app) -> None:
    payload = {"agent": "assistant", "name": "calculate", "arguments": '{"expression": "6 * 7"}', "call_id": "c1",
               "run_id": uuid.uuid4().hex, "step": "tool-1"}
    first, second, events = twice(steps.tool_step, payload)
    assert first == second == {"content": "42", "is_error": False}
    assert [e["type"] for e in events] == ["tool_call", "tool_result"]


def test_a_tool_marked_not_idempotent_is_not_run_again_after_an_interruption(in_app, tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex
    payload = {"agent": "assistant", "name": "send_email", "call_id": "c1", "run_id": run_id, "step": "tool-1",
               "arguments": '{"to": "ada@example.com", "subject": "s", "body": "b"}'}

    async def interrupted_then_again() -> dict[str, Any]:
        # The first attempt started (and may have sent) but died before its result was journaled.
        await open_store().step_started(run_id, "tool-1")
        return await steps.tool_step(payload)

    result = asyncio.run(interrupted_then_again())
    assert result["is_error"] and "not run again" in result["content"]
    assert not (tmp_path / "outbox").exists()
