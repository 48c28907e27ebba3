"""Sessions: reading, forgetting, compaction of old turns, and expiry of idle sessions."""

from __future__ import annotations

import time

import httpx

from tests.fixtures.model_server import ModelServer


def test_a_session_can_be_read_and_deleted(api: httpx.Client, model: ModelServer) -> None:
    api.post("/agents/assistant/run", json={"message": "hello", "session_id": "delete-me"})
    session = api.get("/agents/assistant/sessions/delete-me")
    assert session.status_code == 200
    body = session.json()
    assert body["agent"] == "assistant" and body["session_id"] == "delete-me"
    assert set(body) >= {"messages", "summary", "usage", "created", "updated", "turns"}
    assert api.delete("/agents/assistant/sessions/delete-me").status_code == 204
    gone = api.get("/agents/assistant/sessions/delete-me")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "SessionNotFound"
    assert api.delete("/agents/assistant/sessions/delete-me").status_code == 404


def test_old_turns_are_compacted_into_a_summary(start_app, model: ModelServer) -> None:
    host = start_app(SESSION_TOKEN_BUDGET="60")
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        for turn in range(3):
            model.say(f"Answer number {turn} with enough words to use up the small token budget quickly.")
            run = api.post("/agents/assistant/run", json={"message": f"Question number {turn} about the weather "
                                                         "today", "session_id": "compact-1"}).json()
        session = api.get("/agents/assistant/sessions/compact-1").json()
        summary_requests = [r for r in model.chat_requests()
                            if r["body"]["messages"][0]["content"].startswith("Summarise the conversation")]
        assert summary_requests, "no summarisation call was made"
        assert session["summary"] == f"scripted: {summary_requests[-1]['body']['messages'][-1]['content']}"
        assert session["compacted_messages"] > 0
        # The run that compacted shows the summarisation as a step with its tokens, counted in the run's usage.
        compaction = next(step for step in run["steps"] if step["name"] == "compaction")
        assert compaction["usage"]["total_tokens"] > 0
        model_steps = [step["usage"]["total_tokens"] for step in run["steps"] if step["kind"] == "model"]
        assert sum(model_steps) == run["usage"]["total_tokens"]
        assert len(session["messages"]) + session["compacted_messages"] == 6
        assert session["messages"][0]["role"] == "user"
        model.say("ok")
        api.post("/agents/assistant/run", json={"message": "and now?", "session_id": "compact-1"})
        prompt = model.chat_requests()[-1]["body"]["messages"]
        assert prompt[1]["content"].startswith("Summary of the earlier conversation: scripted:")


def test_idle_sessions_expire(start_app, model: ModelServer) -> None:
    host = start_app(SESSION_TTL_DAYS=str(2 / 86400))
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        api.post("/agents/assistant/run", json={"message": "remember me", "session_id": "ttl-1"})
        assert api.get("/agents/assistant/sessions/ttl-1").status_code == 200
        deadline = time.monotonic() + 30
        while api.get("/agents/assistant/sessions/ttl-1").status_code == 200:
            assert time.monotonic() < deadline, "the idle session never expired"
            time.sleep(0.2)
