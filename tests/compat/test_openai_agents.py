"""azure-functions-durable's OpenAI Agents integration (``@app.durable_openai_agent_orchestrator``) on devhost.

The OpenAI Agents SDK installs a top-level package named ``agents``, the same name as this project's own
``agents/`` package, so it cannot live in the project's venv: installed there it shadows ``agents/`` and the
project's app no longer imports. These tests therefore run only when ``COMPAT_OPENAI_AGENTS_PATH`` names a
folder holding ``openai-agents`` and its own dependencies (``pip install --target DIR "openai-agents>=0.2.3,<0.3"``,
the range the SDK's samples declare); that folder is put on the PYTHONPATH of the devhost process serving
openai_agents_app/, and of nothing else.

Each test runs against both model APIs the SDK can use: Chat Completions and its default, Responses.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost

OVERLAY = os.environ.get("COMPAT_OPENAI_AGENTS_PATH", "")
if not OVERLAY or not (Path(OVERLAY) / "agents" / "__init__.py").exists():
    pytest.skip("set COMPAT_OPENAI_AGENTS_PATH to a `pip install --target` folder holding openai-agents",
                allow_module_level=True)


@pytest.fixture(scope="module", params=["chat_completions", "responses"])
def api_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def host(start_compat_app, api_kind: str) -> Devhost:
    path = os.pathsep.join(p for p in (OVERLAY, os.environ.get("PYTHONPATH", "")) if p)
    return start_compat_app("openai_agents_app", PYTHONPATH=path, OPENAI_API=api_kind,
                            OPENAI_AGENTS_DISABLE_TRACING="1")


def orchestrate(host: Devhost, name: str, instance_id: str, value: Any) -> dict[str, Any]:
    """Start an orchestration, wait for it to finish (or 90 s), and return its status with its history."""
    management = f"{host.url}/runtime/webhooks/durabletask"
    started = httpx.post(f"{management}/orchestrators/{name}/{instance_id}?timeout=90", json=value, timeout=120)
    assert started.status_code in (200, 202), started.text
    return httpx.get(f"{management}/instances/{instance_id}?showHistory=true", timeout=30).json()


def model_calls(model: ModelServer, api_kind: str) -> list[list[dict[str, Any]]]:
    """What each model call was sent: its messages (Chat Completions) or its input items (Responses)."""
    if api_kind == "chat_completions":
        return [r["body"]["messages"] for r in model.chat_requests()]
    return [[{"role": "system", "content": r["body"].get("instructions")}, *r["body"]["input"]]
            for r in model.responses_requests()]


def completed_steps(status: dict[str, Any]) -> list[str]:
    return [e["FunctionName"] for e in status["historyEvents"] if e["EventType"] == "TaskCompleted"]


def test_an_agent_orchestration_completes_with_the_models_answer(
        host: Devhost, model: ModelServer, api_kind: str) -> None:
    model.say("Functions call themselves, / a mirror in a mirror, / until the base case.")
    status = orchestrate(host, "hello", f"haiku-{api_kind}", {"prompt": "Tell me about recursion in programming."})
    assert status["runtimeStatus"] == "Completed", status["output"]
    assert status["output"] == "Functions call themselves, / a mirror in a mirror, / until the base case."
    [sent] = model_calls(model, api_kind)
    assert sent[0] == {"role": "system", "content": "You only respond in haikus."}
    assert sent[-1]["role"] == "user" and "recursion" in str(sent[-1]["content"])
    assert completed_steps(status) == ["run_model"]


def test_an_activity_tool_runs_as_its_own_step_and_its_result_reaches_the_model(
        host: Devhost, model: ModelServer, api_kind: str, request: pytest.FixtureRequest) -> None:
    if api_kind == "chat_completions":
        # Upstream, whatever the host: the run_model activity returns ModelResponse.model_dump_json(), so the
        # function_call item the Chat Completions converter left without a status comes back with "status": null,
        # and the next DurableModelActivityInput rejects it ("Input should be 'in_progress', 'completed' or
        # 'incomplete'"). strict: this turns into a failure to look at once the integration handles it.
        request.applymarker(pytest.mark.xfail(strict=True, reason="azure-functions-durable 1.7 + Chat Completions "
                                              "+ tools: a null status fails DurableModelActivityInput"))
    model.call_tools(("get_weather", {"city": "Paris"}))
    model.say("It is sunny in Paris.")
    status = orchestrate(host, "weather", f"weather-{api_kind}", {"prompt": "weather in Paris?"})
    assert status["runtimeStatus"] == "Completed", status["output"]
    assert status["output"] == "It is sunny in Paris."
    assert completed_steps(status) == ["run_model", "get_weather", "run_model"]
    sent = model_calls(model, api_kind)[-1]
    results = [item for item in sent if item.get("role") == "tool" or item.get("type") == "function_call_output"]
    assert len(results) == 1
    assert "weather-activity says: sunny in Paris" in str(results[0].get("content", results[0].get("output")))
