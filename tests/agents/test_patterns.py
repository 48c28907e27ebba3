"""The four patterns end to end: each agent call is an agent_run sub-orchestration with its own run id."""

from __future__ import annotations

import httpx

from tests.agents.helpers import wait_run, wait_workflow
from tests.fixtures.model_server import ModelServer


def start(api: httpx.Client, pattern: str, body: dict) -> str:
    response = api.post(f"/workflows/{pattern}", json=body)
    assert response.status_code == 202, response.text
    assert response.json()["links"]["status"].endswith(f"/api/workflows/{response.json()['id']}")
    return response.json()["id"]


def test_chain_feeds_each_stage_into_the_next(api: httpx.Client, model: ModelServer) -> None:
    model.say("fact one; fact two")
    model.say("A draft about facts.")
    model.say("An edited piece.")
    workflow_id = start(api, "chain", {"topic": "octopuses"})
    view = wait_workflow(api, workflow_id, {"completed", "failed"})
    assert view["status"] == "completed"
    assert view["output"]["research"] == "fact one; fact two"
    assert view["output"]["final"] == "An edited piece."
    prompts = [r["body"]["messages"][-1]["content"] for r in model.chat_requests()]
    assert prompts == ["Topic: octopuses", "Notes to write from:\nfact one; fact two",
                       "Draft to edit:\nA draft about facts."]
    assert len(view["runs"]) == 3
    assert [api.get(f"/runs/{r}").json()["agent"] for r in view["runs"]] == ["researcher", "writer", "editor"]


def test_panel_asks_in_parallel_then_synthesizes(api: httpx.Client, model: ModelServer) -> None:
    workflow_id = start(api, "panel", {"question": "Should we adopt four-day weeks?",
                                       "panelists": ["optimist", "skeptic"]})
    view = wait_workflow(api, workflow_id, {"completed", "failed"})
    assert view["status"] == "completed"
    answers = view["output"]["answers"]
    assert answers == {"optimist": "scripted: Should we adopt four-day weeks?",
                       "skeptic": "scripted: Should we adopt four-day weeks?"}
    synthesis_prompt = model.chat_requests()[-1]["body"]["messages"]
    assert "optimist: scripted" in synthesis_prompt[-1]["content"]
    assert synthesis_prompt[0]["content"].startswith("Combine the answers")
    assert len(view["runs"]) == 3


def test_triage_routes_to_a_specialist(api: httpx.Client, model: ModelServer) -> None:
    model.say('{"category": "technical", "reason": "login error"}')
    model.say("Clear your cookies.")
    view = wait_workflow(api, start(api, "triage", {"message": "I cannot log in"}), {"completed", "failed"})
    assert view["output"]["category"] == "technical" and view["output"]["specialist"] == "technical"
    assert view["output"]["answer"] == "Clear your cookies."
    assert model.chat_requests()[0]["body"]["response_format"]["type"] == "json_schema"


def test_triage_rejects_spam_without_answering(api: httpx.Client, model: ModelServer) -> None:
    model.say('{"category": "spam", "reason": "advert"}')
    view = wait_workflow(api, start(api, "triage", {"message": "BUY NOW"}), {"completed", "failed"})
    assert view["output"]["rejected"] is True and view["output"]["answer"] is None
    assert len(model.chat_requests()) == 1


def test_review_revises_on_feedback_then_completes_on_approval(api: httpx.Client, model: ModelServer) -> None:
    model.say("Draft one.")
    model.say("Draft two, shorter.")
    workflow_id = start(api, "review", {"brief": "a slogan"})
    view = wait_workflow(api, workflow_id, {"awaiting_review"})
    assert view["custom_status"]["draft"] == "Draft one."
    bad = api.post(f"/workflows/{workflow_id}/events/review", json={"approved": "maybe"})
    assert bad.status_code == 400
    assert api.post(f"/workflows/{workflow_id}/events/review",
                    json={"approved": False, "feedback": "shorter"}).status_code == 202
    wait_run(api, f"{workflow_id}-draft-2", {"completed"})
    view = wait_workflow(api, workflow_id, {"awaiting_review"})
    assert view["custom_status"]["round"] == 2
    assert "Reviewer feedback: shorter" in model.chat_requests()[1]["body"]["messages"][-1]["content"]
    assert api.post(f"/workflows/{workflow_id}/events/review", json={"approved": True}).status_code == 202
    view = wait_workflow(api, workflow_id, {"completed", "failed"})
    assert view["output"]["status"] == "approved" and view["output"]["draft"] == "Draft two, shorter."
    late = api.post(f"/workflows/{workflow_id}/events/review", json={"approved": True})
    assert late.status_code == 409


def test_review_escalates_when_nobody_answers(api: httpx.Client, model: ModelServer) -> None:
    workflow_id = start(api, "review", {"brief": "a slogan", "timeout_seconds": 1})
    view = wait_workflow(api, workflow_id, {"completed", "failed"})
    assert view["output"]["status"] == "escalated" and view["output"]["rounds"] == 1


def test_review_escalates_after_three_rejections(api: httpx.Client, model: ModelServer) -> None:
    workflow_id = start(api, "review", {"brief": "a slogan"})
    for round_number in (1, 2, 3):
        wait_run(api, f"{workflow_id}-draft-{round_number}", {"completed"})
        wait_workflow(api, workflow_id, {"awaiting_review"})
        api.post(f"/workflows/{workflow_id}/events/review", json={"approved": False, "feedback": "no"})
    view = wait_workflow(api, workflow_id, {"completed", "failed"})
    assert view["output"]["status"] == "escalated" and view["output"]["rounds"] == 3
