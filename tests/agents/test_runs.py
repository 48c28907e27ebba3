"""The agent loop over HTTP: memory, tool steps, approvals, structured output, usage."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.agents.helpers import history, wait_run
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost


def run(api: httpx.Client, agent: str, message: str, **fields: object) -> httpx.Response:
    return api.post(f"/agents/{agent}/run", json={"message": message, **fields})


def test_a_run_answers_with_the_model_reply_and_counts_usage(api: httpx.Client, model: ModelServer) -> None:
    model.say("Hello Ada.")
    response = run(api, "assistant", "Hi, I am Ada")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "completed" and body["response"] == "Hello Ada."
    assert body["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    assert body["session_id"] and body["run_id"]
    assert body["links"]["status"].endswith(f"/api/runs/{body['run_id']}")
    assert [s["kind"] for s in body["steps"]] == ["model"]
    prompt = model.chat_requests()[0]["body"]
    assert prompt["model"] == "scripted-model"
    assert prompt["messages"][0]["role"] == "system"
    assert prompt["messages"][-1] == {"role": "user", "content": "Hi, I am Ada"}
    assert {t["function"]["name"] for t in prompt["tools"]} == {"current_time", "calculate", "count_primes",
                                                                "send_email"}


def test_the_session_remembers_earlier_turns(api: httpx.Client, model: ModelServer) -> None:
    model.say("Nice to meet you, Ada.")
    first = run(api, "assistant", "My name is Ada", session_id="memory-1").json()
    model.say("Your name is Ada.")
    second = run(api, "assistant", "What is my name?", session_id="memory-1").json()
    assert second["response"] == "Your name is Ada."
    messages = model.chat_requests()[1]["body"]["messages"]
    assert [m.get("content") for m in messages[1:]] == [
        "My name is Ada", "Nice to meet you, Ada.", "What is my name?"]
    session = api.get("/agents/assistant/sessions/memory-1").json()
    assert session["turns"] == 2 and len(session["messages"]) == 4
    assert session["usage"]["total_tokens"] == 30
    assert first["session_id"] == second["session_id"] == "memory-1"


def test_run_history_holds_only_the_runs_own_messages(host: Devhost, api: httpx.Client, model: ModelServer) -> None:
    model.say("Noted: the secret word is pelican.")
    run(api, "assistant", "Remember the secret word pelican", session_id="history-1")
    model.say("Okay.")
    second = run(api, "assistant", "Say okay", session_id="history-1").json()
    events = json.dumps(history(host.url, second["run_id"]))
    assert "Say okay" in events
    assert "pelican" not in events


def test_tool_calls_are_separate_durable_steps_and_run_in_parallel(
    host: Devhost, api: httpx.Client, model: ModelServer
) -> None:
    model.call_tools(("calculate", {"expression": "6 * 7"}), ("count_primes", {"limit": 100}))
    model.say("42, and there are 25 primes below 100.")
    body = run(api, "assistant", "Compute two things").json()
    assert body["status"] == "completed"
    assert [(s["kind"], s["name"], s["status"]) for s in body["steps"]] == [
        ("model", "assistant", "completed"), ("tool", "calculate", "completed"),
        ("tool", "count_primes", "completed"), ("model", "assistant", "completed")]
    tool_messages = [m for m in model.chat_requests()[1]["body"]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == ["42", "25"]
    events = history(host.url, body["run_id"])
    scheduled = [e for e in events if e["EventType"] in ("TaskCompleted", "SubOrchestrationInstanceCompleted")]
    names = [e["FunctionName"] for e in scheduled]
    assert names[0] == names[3] == "agent_model_step" and names[4:] == ["agent_publish"]
    assert sorted(names[1:3]) == ["agent_long_tool", "agent_tool_step"]


def test_a_bad_tool_call_becomes_an_error_the_model_sees(api: httpx.Client, model: ModelServer) -> None:
    model.call_tools(("calculate", {"expression": "__import__(1)"}), ("no_such_tool", {}))
    model.say("Sorry, I could not compute that.")
    body = run(api, "assistant", "Break things").json()
    assert body["status"] == "completed"
    tool_results = [m["content"] for m in model.chat_requests()[1]["body"]["messages"] if m["role"] == "tool"]
    assert tool_results[0].startswith("error: ") and "cannot evaluate" in tool_results[0]
    assert "no tool named 'no_such_tool'" in tool_results[1]
    assert [s["status"] for s in body["steps"] if s["kind"] == "tool"] == ["failed", "failed"]


def _await_approval(api: httpx.Client, model: ModelServer, session: str) -> dict:
    model.call_tools(("send_email", {"to": "bob@example.com", "subject": "Hi", "body": "Lunch?"}))
    response = run(api, "assistant", "Email Bob", session_id=session)
    assert response.status_code == 202
    view = response.json()
    assert view["status"] == "awaiting_approval"
    assert view["pending_approval"]["tool"] == "send_email"
    assert view["pending_approval"]["arguments"]["to"] == "bob@example.com"
    assert view["links"]["approval"].endswith("/approval")
    assert response.headers["location"] == view["links"]["status"]
    # The orchestration's custom status names the event that decides, for generic tools like the devhost dashboard.
    origin = str(api.base_url).removesuffix("/").removesuffix("/api")
    custom = httpx.get(f"{origin}/runtime/webhooks/durabletask/instances/{view['run_id']}").json()["customStatus"]
    assert custom["pending_approval"]["event"] == f"approval:{custom['pending_approval']['call_id']}"
    return view


def test_an_approved_tool_runs(host: Devhost, api: httpx.Client, model: ModelServer) -> None:
    outbox = Path(host.env["OUTBOX_DIR"])
    before = set(outbox.glob("*.json")) if outbox.exists() else set()
    view = _await_approval(api, model, "approve-1")
    model.say("Sent.")
    answer = api.post(f"/runs/{view['run_id']}/approval", json={"approved": True, "comment": "ok"})
    assert answer.status_code == 202
    done = wait_run(api, view["run_id"], {"completed", "failed"})
    assert done["response"] == "Sent."
    sent = [json.loads(p.read_text()) for p in set(outbox.glob("*.json")) - before]
    assert [(m["to"], m["subject"]) for m in sent] == [("bob@example.com", "Hi")]
    assert [s["status"] for s in done["steps"] if s["kind"] == "approval"] == ["approved"]
    again = api.post(f"/runs/{view['run_id']}/approval", json={"approved": True})
    assert again.status_code == 409 and again.json()["error"]["code"] == "NothingToApprove"


def test_a_denied_tool_does_not_run_and_the_model_hears_why(host: Devhost, api: httpx.Client,
                                                            model: ModelServer) -> None:
    outbox = Path(host.env["OUTBOX_DIR"])
    before = set(outbox.glob("*.json")) if outbox.exists() else set()
    view = _await_approval(api, model, "deny-1")
    model.say("Understood, I did not send it.")
    denial = api.post(f"/runs/{view['run_id']}/approval", json={"approved": False, "comment": "not now"})
    assert denial.status_code == 202
    done = wait_run(api, view["run_id"], {"completed", "failed"})
    assert done["response"] == "Understood, I did not send it."
    tool_result = [m for m in model.chat_requests()[-1]["body"]["messages"] if m["role"] == "tool"][0]
    assert tool_result["content"] == "A person denied running send_email: not now"
    assert (set(outbox.glob("*.json")) if outbox.exists() else set()) == before


def test_an_unanswered_approval_times_out_and_the_run_goes_on(api: httpx.Client, model: ModelServer) -> None:
    view = _await_approval(api, model, "timeout-1")
    model.say("No approval came, so nothing was sent.")
    done = wait_run(api, view["run_id"], {"completed", "failed"}, timeout=30)
    assert done["status"] == "completed"
    tool_result = [m for m in model.chat_requests()[-1]["body"]["messages"] if m["role"] == "tool"][0]
    assert tool_result["content"] == "No approval arrived within 3 seconds, so send_email was not run."
    assert [s["status"] for s in done["steps"] if s["kind"] == "approval"] == ["timed_out"]


SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
          "required": ["city", "population"], "additionalProperties": False}


def test_structured_output_is_validated(api: httpx.Client, model: ModelServer) -> None:
    model.say('{"city": "Lima", "population": 10000000}')
    body = run(api, "assistant", "Biggest city of Peru?", response_format=SCHEMA).json()
    assert body["structured"] == {"city": "Lima", "population": 10000000}
    sent = model.chat_requests()[0]["body"]["response_format"]
    assert sent == {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA}}


def test_structured_output_gets_one_repair(api: httpx.Client, model: ModelServer) -> None:
    model.say('{"city": "Lima"}')
    model.say('{"city": "Lima", "population": 10000000}')
    body = run(api, "assistant", "Biggest city of Peru?", response_format=SCHEMA).json()
    assert body["status"] == "completed" and body["structured"]["population"] == 10000000
    repair = model.chat_requests()[1]["body"]["messages"][-1]
    assert repair["role"] == "user" and "'population' is a required property" in repair["content"]


def test_structured_output_fails_clearly_after_the_repair(api: httpx.Client, model: ModelServer) -> None:
    model.say("not json at all")
    model.say('{"city": 5, "population": 1}')
    body = run(api, "assistant", "Biggest city of Peru?", response_format=SCHEMA).json()
    assert body["status"] == "failed"
    assert "does not match the response_format schema after one repair" in body["error"]
    assert len(model.chat_requests()) == 2


def test_the_step_limit_ends_a_run_that_never_answers(start_app, model: ModelServer) -> None:
    host = start_app(AGENT_MAX_STEPS="2")
    for _ in range(3):
        model.call_tools(("calculate", {"expression": "1 + 1"}))
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        body = run(api, "assistant", "Loop forever").json()
    assert body["status"] == "failed" and "limit of 2 model calls" in body["error"]


def test_not_waiting_answers_202_then_the_run_completes(api: httpx.Client, model: ModelServer) -> None:
    model.say("Later.", delay=0.5)
    response = api.post("/agents/assistant/run?wait=false", content="Answer later",
                        headers={"content-type": "text/plain"})
    assert response.status_code == 202
    view = response.json()
    assert view["status"] in ("pending", "running")
    assert wait_run(api, view["run_id"], {"completed"})["response"] == "Later."


def test_a_slow_run_answers_202_after_the_timeout(api: httpx.Client, model: ModelServer) -> None:
    model.say("Slow answer.", delay=2)
    response = run(api, "assistant", "Take your time", timeout=0.5)
    assert response.status_code == 202 and response.json()["status"] == "running"
    assert wait_run(api, response.json()["run_id"], {"completed"})["response"] == "Slow answer."


def test_a_run_can_be_canceled(api: httpx.Client, model: ModelServer) -> None:
    view = _await_approval(api, model, "cancel-1")
    assert api.post(f"/runs/{view['run_id']}/cancel").status_code == 202
    assert wait_run(api, view["run_id"], {"canceled"})["status"] == "canceled"
    again = api.post(f"/runs/{view['run_id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "RunFinished"
