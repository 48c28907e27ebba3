"""Runs on the self-hosted worker: answers, tool steps, approvals, streams, sessions and workflows."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from durable_agents import AgentClient, AgentError, AgentWorker
from tests.fixtures.model_server import ModelServer

from .conftest import Deployment, WorkerProcess


def wait_for(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool],
             timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not done(view := read()):
        assert time.monotonic() < deadline, f"still {view} after {timeout} s"
        time.sleep(0.05)
    return view


def test_a_run_answers_and_each_tool_call_is_a_step_of_its_own(api: httpx.Client, model: ModelServer) -> None:
    model.call_tools(("calculate", {"expression": "12*31"}))
    model.say("12*31 is 372.")
    response = api.post("/agents/assistant/run", json={"message": "what is 12*31?"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed" and body["response"] == "12*31 is 372."
    assert [(s["kind"], s["name"], s["status"]) for s in body["steps"]] == [
        ("model", "assistant", "completed"), ("tool", "calculate", "completed"), ("model", "assistant", "completed")]
    assert body["usage"] == {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}
    first, second = model.chat_requests()
    assert {t["function"]["name"] for t in first["body"]["tools"]} >= {"calculate", "send_email"}
    tool_message = second["body"]["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["content"] == "372"
    assert api.get(f"/runs/{body['run_id']}").json()["status"] == "completed"


def test_the_stream_gives_the_answer_token_by_token(worker: WorkerProcess, agents: AgentWorker,
                                                     model: ModelServer) -> None:
    answer = "Durable steps survive restarts, one by one."
    model.say(answer)
    run = agents.client().start("assistant", "tell me about durable steps")
    seen = agents.client().follow(run["run_id"])
    deltas = [e["data"]["text"] for e in seen.events if e["type"] == "delta"]
    assert seen.ok and seen.text == answer
    assert len(deltas) > 5 and "".join(deltas) == answer
    # The worker's SSE endpoint gives the same events, read with the public HTTP client.
    with AgentClient(worker.url) as http:
        again = http.follow(run["run_id"])
    assert [e["id"] for e in again.events] == [e["id"] for e in seen.events] and again.text == answer


def test_an_approval_decided_through_the_client_completes_the_run(agents: AgentWorker, model: ModelServer,
                                                                  deployment: Deployment) -> None:
    model.call_tools(("send_email", {"to": "ada@example.com", "subject": "Report", "body": "It is ready."}))
    model.say("I sent it.")
    client = agents.client()
    run = client.start("assistant", "email ada@example.com that the report is ready")
    waiting = wait_for(lambda: client.run(run["run_id"]), lambda v: v["status"] == "awaiting_approval")
    assert waiting["pending_approval"]["tool"] == "send_email"
    assert waiting["pending_approval"]["arguments"]["to"] == "ada@example.com"
    outbox = Path(deployment.env["OUTBOX_DIR"])
    assert not outbox.exists() or not list(outbox.iterdir())  # nothing is sent before the decision
    client.approve(run["run_id"], True, "go ahead")
    done = wait_for(lambda: client.run(run["run_id"]), lambda v: v["status"] in {"completed", "failed"})
    assert done["status"] == "completed" and done["response"] == "I sent it."
    assert [s["kind"] for s in done["steps"]] == ["model", "approval", "tool", "model"]
    assert done["steps"][1]["status"] == "approved"
    sent = [json.loads(p.read_text()) for p in outbox.iterdir()]
    assert [m["to"] for m in sent] == ["ada@example.com"]
    with pytest.raises(AgentError) as refused:
        client.approve(run["run_id"], True)
    assert refused.value.code == "NothingToApprove" and refused.value.status == 409


def test_a_second_turn_on_the_session_sees_the_first(agents: AgentWorker, model: ModelServer) -> None:
    client = agents.client()
    model.say("Nice to meet you, Ada.")
    first = client.start("assistant", "My name is Ada", session_id="worker-memory")
    assert client.wait(first["run_id"])["status"] == "completed"
    model.say("Your name is Ada.")
    second = client.start("assistant", "What is my name?", session_id="worker-memory")
    assert client.wait(second["run_id"])["response"] == "Your name is Ada."
    messages = model.chat_requests()[1]["body"]["messages"]
    assert [m.get("content") for m in messages[1:]] == ["My name is Ada", "Nice to meet you, Ada.", "What is my name?"]
    session = client.session("assistant", "worker-memory")
    assert session is not None and session["turns"] == 2 and len(session["messages"]) == 4
    assert session["queue"] == []


def test_a_workflow_waits_for_its_event_and_calls_agents_as_sub_orchestrations(api: httpx.Client,
                                                                                model: ModelServer) -> None:
    model.say("A bakery slogan: fresh every morning.")
    started = api.post("/workflows/review", json={"brief": "a bakery slogan"})
    assert started.status_code == 202, started.text
    workflow_id = started.json()["id"]
    view = wait_for(lambda: api.get(f"/workflows/{workflow_id}").json(),
                    lambda v: v["custom_status"].get("stage") == "awaiting_review")
    assert view["custom_status"]["draft"] == "A bakery slogan: fresh every morning."
    assert api.post(f"/workflows/{workflow_id}/events/review", json={"approved": True}).status_code == 202
    done = wait_for(lambda: api.get(f"/workflows/{workflow_id}").json(), lambda v: v["status"] == "completed")
    assert done["output"]["status"] == "approved" and done["output"]["rounds"] == 1
    (run_id,) = done["runs"]
    assert api.get(f"/runs/{run_id}").json()["response"] == "A bakery slogan: fresh every morning."


def test_a_long_running_tool_runs_as_a_sub_orchestration(agents: AgentWorker, model: ModelServer) -> None:
    model.call_tools(("count_primes", {"limit": 100}))
    model.say("There are 25 primes below 100.")
    client = agents.client()
    run = client.start("assistant", "how many primes are there below 100?")
    done = client.wait(run["run_id"])
    assert done["status"] == "completed" and done["response"] == "There are 25 primes below 100."
    assert [(s["kind"], s["name"]) for s in done["steps"]][1] == ("tool", "count_primes")
    assert model.chat_requests()[1]["body"]["messages"][-1]["content"] == "25"


def test_a_turn_posted_while_another_runs_waits_its_turn(agents: AgentWorker, model: ModelServer) -> None:
    model.say("First answer.", delay=1.5)
    model.say("Second answer.")
    client = agents.client()
    first = client.start("assistant", "first question", session_id="worker-turns")
    second = client.start("assistant", "second question", session_id="worker-turns")
    queued = wait_for(lambda: client.run(second["run_id"]), lambda v: v["status"] in {"queued", "completed"})
    assert queued["status"] == "queued" and queued["waiting_for"] == first["run_id"]
    assert client.wait(second["run_id"])["response"] == "Second answer."
    assert client.run(first["run_id"])["response"] == "First answer."
    later = model.chat_requests()[1]["body"]["messages"]
    assert [m.get("content") for m in later[1:]] == ["first question", "First answer.", "second question"]


def test_an_approval_nobody_gives_times_out_on_a_durable_timer(agents: AgentWorker, model: ModelServer,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVAL_TIMEOUT_SECONDS", "1")  # a run's limits are set where it is submitted
    model.call_tools(("send_email", {"to": "bob@example.com", "subject": "Hi", "body": "Hello."}))
    model.say("The email was not sent.")
    client = agents.client()
    run = client.start("assistant", "email bob@example.com hello")
    done = wait_for(lambda: client.run(run["run_id"]), lambda v: v["status"] in {"completed", "failed"})
    assert done["response"] == "The email was not sent." and done["steps"][1]["status"] == "timed_out"
    assert "No approval arrived within 1 seconds" in model.chat_requests()[1]["body"]["messages"][-1]["content"]


def test_the_client_checks_a_request_as_the_http_api_and_honours_idempotency_keys(agents: AgentWorker,
                                                                                   model: ModelServer) -> None:
    client = agents.client()
    for bad, code in ((dict(message=" "), "MissingMessage"), (dict(message="hi", session_id="a b"), "InvalidSessionId"),
                      (dict(message="hi", response_format={"$ref": "#/nowhere"}), "InvalidResponseFormat")):
        with pytest.raises(AgentError) as refused:
            client.start("assistant", **bad)
        assert refused.value.code == code and refused.value.status == 400
    first = client.start("assistant", "once only", "worker-idem", idempotency_key="worker-key-1")
    again = client.start("assistant", "once only", "worker-idem", idempotency_key="worker-key-1")
    assert again["run_id"] == first["run_id"]
    assert client.wait(first["run_id"])["response"] == "scripted: once only"
    assert len(model.chat_requests()) == 1


def test_a_canceled_run_ends_its_stream(agents: AgentWorker, model: ModelServer) -> None:
    model.say("Too late.", delay=2)
    client = agents.client()
    run = client.start("assistant", "take your time")
    wait_for(lambda: client.run(run["run_id"]), lambda v: v["status"] == "running" and v["steps"])
    assert client.cancel(run["run_id"])["status"] == "running"
    assert wait_for(lambda: client.run(run["run_id"]), lambda v: v["status"] == "canceled")["status"] == "canceled"
    stream = client.follow(run["run_id"])
    assert stream.final is not None and stream.final["type"] == "error"
    assert stream.final["data"]["message"] == "the run was canceled"
    with pytest.raises(AgentError) as finished:
        client.cancel(run["run_id"])
    assert finished.value.code == "RunFinished" and finished.value.status == 409
