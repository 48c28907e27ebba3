"""Runs as OpenTelemetry traces, received by a real OTLP/HTTP receiver: one tree per run, ids from the run and step
ids, nothing emitted twice by replays, the same spans after a kill -9, GenAI attributes, no contents by default."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from durable_agents._telemetry import ROOT, span_id, trace_id
from tests.agents.helpers import wait_run, wait_workflow
from tests.fixtures.agent_app import model, model_server, start_app
from tests.fixtures.model_server import ModelServer
from tests.fixtures.otlp_receiver import OtlpReceiver
from tests.fixtures.processes import Devhost

__all__ = ["model", "model_server", "start_app"]


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def host(start_app: Callable[..., Devhost], receiver: OtlpReceiver) -> Devhost:
    return start_app(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_BSP_SCHEDULE_DELAY="100",
                     OTEL_METRIC_EXPORT_INTERVAL="500", OTEL_SERVICE_NAME="agents-under-test")


def spans_of(receiver: OtlpReceiver, run_id: str, count: int, timeout: float = 15) -> list[dict[str, Any]]:
    """The spans of a run's trace, once ``count`` distinct ones have arrived."""
    wanted = f"{trace_id(run_id):032x}"
    deadline = time.monotonic() + timeout
    while True:
        with receiver.lock:
            spans = [s for s in receiver.spans if s["trace_id"] == wanted]
        if len({s["span_id"] for s in spans}) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.05)


def sid(run_id: str, step: str) -> str:
    return f"{span_id(run_id, step):016x}"


def test_a_run_is_one_trace_with_a_span_per_step(host: Devhost, receiver: OtlpReceiver, model: ModelServer) -> None:
    model.call_tools(("calculate", {"expression": "6 * 7"}))
    model.say("It is 42.")
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        body = api.post("/agents/assistant/run", json={"message": "what is 6 * 7, secretly?"}).json()
    run_id = body["run_id"]
    spans = spans_of(receiver, run_id, 4)
    by_id = {s["span_id"]: s for s in spans}
    assert len(spans) == len(by_id), "a span was emitted twice"
    root = by_id[sid(run_id, ROOT)]
    assert root["name"] == "invoke_agent assistant" and root["parent"] is None
    assert root["service"] == "agents-under-test"
    assert root["attributes"]["gen_ai.usage.input_tokens"] == 20
    steps = {s["id"]: s for s in body["steps"]}
    model_span = by_id[sid(run_id, "model-0")]
    assert model_span["name"] == "chat scripted-model" and model_span["parent"] == root["span_id"]
    assert model_span["attributes"]["gen_ai.operation.name"] == "chat"
    assert model_span["attributes"]["gen_ai.request.model"] == "scripted-model"
    assert model_span["attributes"]["gen_ai.usage.output_tokens"] == 5
    assert model_span["attributes"]["gen_ai.response.finish_reasons"] == ["tool_calls"]
    tool_span = by_id[sid(run_id, "tool-1")]
    assert tool_span["name"] == "execute_tool calculate" and tool_span["parent"] == root["span_id"]
    assert tool_span["attributes"]["gen_ai.tool.name"] == "calculate" and "tool-1" in steps
    assert {s["name"] for s in spans} == {"invoke_agent assistant", "chat scripted-model", "execute_tool calculate"}
    # Contents stay out unless asked for.
    assert not any("secretly" in str(s["attributes"]) or "42" in str(s["attributes"].get("gen_ai.tool.call.result"))
                   for s in spans)
    # The request that started the run links to its root.
    with receiver.lock:
        requests = [s for s in receiver.spans if s["span_id"] == sid(run_id, "request")]
    assert requests and requests[0]["links"] == [(f"{trace_id(run_id):032x}", root["span_id"])]


def test_an_approval_wait_is_a_span(host: Devhost, receiver: OtlpReceiver, model: ModelServer) -> None:
    model.call_tools(("send_email", {"to": "ada@example.com", "subject": "s", "body": "b"}))
    model.say("Sent.")
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        run_id = api.post("/agents/assistant/run", json={"message": "mail", "wait": False}).json()["run_id"]
        wait_run(api, run_id, {"awaiting_approval"})
        api.post(f"/runs/{run_id}/approval", json={"approved": True})
        wait_run(api, run_id, {"completed"})
    spans = {s["name"]: s for s in spans_of(receiver, run_id, 5)}
    assert spans["approval send_email"]["attributes"]["agents.approval.outcome"] == "approved"


def test_metrics_arrive(host: Devhost, receiver: OtlpReceiver, model: ModelServer) -> None:
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        api.post("/agents/assistant/run", json={"message": "hello"})
    deadline = time.monotonic() + 15
    wanted = {"gen_ai.client.token.usage", "gen_ai.client.operation.duration", "agents.runs"}
    while not wanted <= receiver.metrics:
        assert time.monotonic() < deadline, receiver.metrics
        time.sleep(0.1)


def test_a_workflow_is_one_tree_whose_runs_are_subtrees(host: Devhost, receiver: OtlpReceiver,
                                                        model: ModelServer) -> None:
    for stage in ("notes", "draft", "final"):
        model.say(f"the {stage}")
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        workflow_id = api.post("/workflows/chain", json={"topic": "otters"}).json()["id"]
        runs = wait_workflow(api, workflow_id, {"completed"})["runs"]
    # Each run: its own span and one model call; and the workflow's own span.
    spans = spans_of(receiver, workflow_id, 2 * len(runs) + 1)
    by_id = {s["span_id"]: s for s in spans}
    assert len(spans) == len(by_id) == 7, "a span is missing or was emitted twice"
    workflow = by_id[sid(workflow_id, ROOT)]
    assert workflow["name"] == "workflow chain" and workflow["parent"] is None
    assert workflow["attributes"]["agents.workflow.status"] == "completed"
    for run_id in runs:
        assert by_id[sid(run_id, ROOT)]["parent"] == sid(workflow_id, ROOT)
        assert by_id[sid(run_id, "model-0")]["parent"] == sid(run_id, ROOT)
    # One tree: every span but the workflow's has its parent in the trace.
    assert all(s["parent"] in by_id for s in spans if s is not workflow)


@pytest.mark.slow
def test_after_kill_9_the_trace_is_still_one_tree(start_app: Callable[..., Devhost], receiver: OtlpReceiver,
                                                   model: ModelServer) -> None:
    host = start_app(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_BSP_SCHEDULE_DELAY="100")
    model.call_tools(("count_primes", {"limit": 50_000_000}))
    model.say("Many primes.")
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        run_id = api.post("/agents/assistant/run", json={"message": "count", "wait": False}).json()["run_id"]
        deadline = time.monotonic() + 20
        while not any(s["kind"] == "tool" and s["status"] == "running"
                      for s in api.get(f"/runs/{run_id}").json()["steps"]):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    host.restart()
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        assert wait_run(api, run_id, {"completed"}, timeout=60)["status"] == "completed"
    spans = spans_of(receiver, run_id, 4)
    ids = {s["span_id"] for s in spans}
    assert ids == {sid(run_id, step) for step in (ROOT, "model-0", "tool-1", "model-2")}
    assert all(s["parent"] == sid(run_id, ROOT) for s in spans if s["span_id"] != sid(run_id, ROOT))
    # The model call finished before the crash: its span once. The tool ran again: its span says attempt 2.
    assert [s["span_id"] for s in spans].count(sid(run_id, "model-0")) == 1
    tool = [s for s in spans if s["span_id"] == sid(run_id, "tool-1")]
    assert [s["attributes"]["agents.step.attempt"] for s in tool] == [2]
