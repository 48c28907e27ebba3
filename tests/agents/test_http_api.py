"""Every error of the agent HTTP API is a JSON {"error": {"code", "message"}} with the right status."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.model_server import ModelServer


def error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_health_and_catalogue(api: httpx.Client) -> None:
    health = api.get("/health").json()
    assert health["status"] == "ok" and "assistant" in health["agents"]
    assert health["model"]["kind"] == "openai-compatible" and health["model"]["model"] == "scripted-model"
    agents = {a["name"]: a for a in api.get("/agents").json()["agents"]}
    tools = {t["name"]: t for t in agents["assistant"]["tools"]}
    assert tools["count_primes"]["long_running"] is True and tools["send_email"]["requires_approval"] is True
    assert tools["send_email"]["idempotent"] is False
    assert tools["calculate"] == {"name": "calculate", "description": tools["calculate"]["description"],
                                  "long_running": False, "requires_approval": False, "idempotent": True}


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"{not json", 400, "InvalidJson"),
    (b"[1, 2]", 400, "InvalidJson"),
    (b"{}", 400, "MissingMessage"),
    (b'{"message": "   "}', 400, "MissingMessage"),
    (b'{"message": 5}', 400, "MissingMessage"),
    (b'{"message": "hi", "wait": "yes"}', 400, "InvalidWait"),
    (b'{"message": "hi", "timeout": 0}', 400, "InvalidTimeout"),
    (b'{"message": "hi", "timeout": 231}', 400, "InvalidTimeout"),
    (b'{"message": "hi", "session_id": "a/b"}', 400, "InvalidSessionId"),
    (b'{"message": "hi", "response_format": {"type": 12}}', 400, "InvalidResponseFormat"),
    (b'{"message": "hi", "colour": "red"}', 400, "UnknownField"),
    (b'{"message": "' + b"x" * 300_000 + b'"}', 413, "PayloadTooLarge"),
])
def test_bad_run_requests_are_rejected_before_the_model(api: httpx.Client, model: ModelServer, body: bytes,
                                                        status: int, code: str) -> None:
    error(api.post("/agents/assistant/run", content=body, headers={"content-type": "application/json"}), status, code)
    assert model.chat_requests() == []


def test_unknown_things_are_404(api: httpx.Client) -> None:
    error(api.post("/agents/nobody/run", json={"message": "hi"}), 404, "AgentNotFound")
    error(api.get("/runs/does-not-exist"), 404, "RunNotFound")
    error(api.post("/runs/does-not-exist/approval", json={"approved": True}), 404, "RunNotFound")
    error(api.post("/runs/does-not-exist/cancel"), 404, "RunNotFound")
    error(api.get("/agents/assistant/sessions/nope"), 404, "SessionNotFound")
    error(api.get("/agents/nobody/sessions/nope"), 404, "AgentNotFound")
    error(api.post("/workflows/dance", json={}), 404, "UnknownWorkflow")
    error(api.get("/workflows/chain-nope"), 404, "WorkflowNotFound")
    error(api.post("/workflows/chain-nope/events/x", json={}), 404, "WorkflowNotFound")


def test_a_query_wait_flag_must_be_a_boolean(api: httpx.Client) -> None:
    error(api.post("/agents/assistant/run?wait=perhaps", json={"message": "hi"}), 400, "InvalidParameter")


def test_approval_requests_are_checked(api: httpx.Client, model: ModelServer) -> None:
    run_id = api.post("/agents/assistant/run", json={"message": "hi"}).json()["run_id"]
    error(api.post(f"/runs/{run_id}/approval", json={"approved": "yes"}), 400, "InvalidApproval")
    error(api.post(f"/runs/{run_id}/approval", json={"approved": True, "comment": 3}), 400, "InvalidApproval")
    error(api.post(f"/runs/{run_id}/approval", json={"approved": True}), 409, "NothingToApprove")


def test_a_run_id_of_another_orchestration_is_not_a_run(api: httpx.Client) -> None:
    workflow_id = api.post("/workflows/triage", json={"message": "hello"}).json()["id"]
    error(api.get(f"/runs/{workflow_id}"), 404, "RunNotFound")


@pytest.mark.parametrize(("pattern", "body", "where"), [
    ("chain", {}, "topic: Field required"),
    ("chain", {"topic": "   "}, "topic: String should match pattern"),
    ("panel", {"question": "q", "panelists": ["optimist"]}, "panelists: List should have at least 2 items"),
    ("panel", {"question": "q", "panelists": ["optimist", "ghost"]}, "panelists.1: Input should be"),
    ("panel", {"question": "q", "panelists": ["optimist", "optimist"]}, "panelists must be different agents"),
    ("triage", {"message": ""}, "message: String should have at least 1 character"),
    ("review", {"brief": "b", "timeout_seconds": 0}, "timeout_seconds: Input should be greater than or equal to 1"),
    ("review", {"brief": "b", "timeout_seconds": "soon"}, "timeout_seconds"),
])
def test_a_workflow_input_that_does_not_fit_its_declaration_is_a_400(api: httpx.Client, pattern: str, body: object,
                                                                     where: str) -> None:
    response = api.post(f"/workflows/{pattern}", json=body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "InvalidInput"
    assert where in response.json()["error"]["message"]


def test_an_event_a_workflow_does_not_declare_is_a_400(api: httpx.Client) -> None:
    workflow_id = api.post("/workflows/review", json={"brief": "b"}).json()["id"]
    error(api.post(f"/workflows/{workflow_id}/events/reveiw", json={"approved": True}), 400, "UnknownEvent")
    error(api.post(f"/workflows/{workflow_id}/events/review", json={"approved": "yes"}), 400, "InvalidInput")
