"""An Idempotency-Key makes a retried submit safe: the same answer, no second turn, run, workflow or event."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.agents.helpers import history, wait_run, wait_workflow
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost

DONE = {"completed", "failed", "canceled"}


def post(api: httpx.Client, path: str, body: dict[str, Any], key: str) -> httpx.Response:
    return api.post(path, json=body, headers={"Idempotency-Key": key})


def turns(api: httpx.Client, session_id: str) -> int:
    return api.get(f"/agents/assistant/sessions/{session_id}").json()["turns"]


def test_a_retried_run_with_the_same_key_is_the_same_run(api: httpx.Client, model: ModelServer) -> None:
    key = uuid.uuid4().hex
    body = {"message": "hello once", "session_id": "idem-1"}
    first = post(api, "/agents/assistant/run", body, key)
    again = post(api, "/agents/assistant/run", body, key)
    assert first.status_code == again.status_code == 200
    assert again.json()["run_id"] == first.json()["run_id"]
    assert again.json()["response"] == first.json()["response"]
    assert len(model.chat_requests()) == 1 and turns(api, "idem-1") == 1


def test_a_retried_run_without_a_session_is_the_same_run_in_the_same_new_session(api: httpx.Client,
                                                                                 model: ModelServer) -> None:
    key = uuid.uuid4().hex
    first = post(api, "/agents/assistant/run", {"message": "hello, new here"}, key)
    again = post(api, "/agents/assistant/run", {"message": "hello, new here"}, key)
    assert first.status_code == again.status_code == 200
    assert again.json()["run_id"] == first.json()["run_id"]
    assert again.json()["session_id"] == first.json()["session_id"]
    assert len(model.chat_requests()) == 1 and turns(api, first.json()["session_id"]) == 1


def test_the_same_key_with_another_request_is_a_422_and_starts_nothing(api: httpx.Client, model: ModelServer) -> None:
    key = uuid.uuid4().hex
    post(api, "/agents/assistant/run", {"message": "first", "session_id": "idem-2"}, key)
    other = post(api, "/agents/assistant/run", {"message": "second", "session_id": "idem-2"}, key)
    assert other.status_code == 422 and other.json()["error"]["code"] == "IdempotencyKeyMismatch"
    assert len(model.chat_requests()) == 1 and turns(api, "idem-2") == 1
    # The key is per agent: another agent's run with it is a run of its own.
    assert post(api, "/agents/assistant/run", {"message": "first", "session_id": "idem-2"}, key).status_code == 200


def test_concurrent_retries_with_one_key_make_one_run(api: httpx.Client, model: ModelServer) -> None:
    model.say("the one answer", delay=0.5)
    key = uuid.uuid4().hex
    body = {"message": "burst once", "session_id": "idem-3", "wait": False}
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(api, "/agents/assistant/run", body, key), range(8)))
    assert {a.status_code for a in answers} == {202}
    run_ids = {a.json()["run_id"] for a in answers}
    assert len(run_ids) == 1
    assert wait_run(api, run_ids.pop(), DONE)["status"] == "completed"
    assert len(model.chat_requests()) == 1 and turns(api, "idem-3") == 1


def test_a_key_outlives_a_restart(start_app: Any, model: ModelServer) -> None:
    host: Devhost = start_app()
    key = uuid.uuid4().hex
    body = {"message": "before the crash", "session_id": "idem-4"}
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        first = post(api, "/agents/assistant/run", body, key).json()
    host.restart()
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        again = post(api, "/agents/assistant/run", body, key).json()
        assert again["run_id"] == first["run_id"] and turns(api, "idem-4") == 1
    assert len(model.chat_requests()) == 1


def test_a_bad_key_is_a_400(api: httpx.Client) -> None:
    for key in ("x" * 256, "caf\u00e9".encode(), ""):
        response = api.post("/agents/assistant/run", json={"message": "hi"}, headers={"Idempotency-Key": key})
        assert response.status_code == 400 and response.json()["error"]["code"] == "InvalidIdempotencyKey"


def test_a_retried_approval_is_answered_again_not_refused(api: httpx.Client, model: ModelServer) -> None:
    model.call_tools(("send_email", {"to": "ada@example.com", "subject": "hi", "body": "hello"}))
    model.say("Sent.")
    run_id = api.post("/agents/assistant/run", json={"message": "mail Ada", "wait": False}).json()["run_id"]
    wait_run(api, run_id, {"awaiting_approval"})
    key = uuid.uuid4().hex
    first = post(api, f"/runs/{run_id}/approval", {"approved": True}, key)
    assert wait_run(api, run_id, DONE)["status"] == "completed"
    again = post(api, f"/runs/{run_id}/approval", {"approved": True}, key)
    assert first.status_code == again.status_code == 202 and again.json() == first.json()
    unkeyed = api.post(f"/runs/{run_id}/approval", json={"approved": True})
    assert unkeyed.status_code == 409


def test_workflow_starts_and_events_with_a_key_happen_once(api: httpx.Client, host: Devhost,
                                                            model: ModelServer) -> None:
    key = uuid.uuid4().hex
    started = [post(api, "/workflows/review", {"brief": "a motto"}, key) for _ in range(2)]
    assert started[0].status_code == started[1].status_code == 202
    workflow_id = started[0].json()["id"]
    assert started[1].json()["id"] == workflow_id
    wait_workflow(api, workflow_id, {"awaiting_review"})
    event_key = uuid.uuid4().hex
    feedback = {"approved": False, "feedback": "shorter"}
    sent = [post(api, f"/workflows/{workflow_id}/events/review", feedback, event_key) for _ in range(2)]
    assert [s.status_code for s in sent] == [202, 202]
    view = wait_workflow(api, workflow_id, {"awaiting_review"})
    # Delivered twice, the second rejection would have been taken as the review of round 2.
    assert view["custom_status"]["round"] == 2
    raised = [e for e in history(host.url, workflow_id) if e["EventType"] == "EventRaised"]
    assert len(raised) == 1
    mismatch = post(api, f"/workflows/{workflow_id}/events/review", {"approved": True}, event_key)
    assert mismatch.status_code == 422
    assert post(api, f"/workflows/{workflow_id}/events/review", {"approved": True}, uuid.uuid4().hex).status_code \
        == 202
    assert wait_workflow(api, workflow_id, {"completed"})["status"] == "completed"
