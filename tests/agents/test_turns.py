"""Turns on one session run one at a time, in arrival order, each seeing every earlier turn."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.agents.helpers import wait_run
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost

DONE = {"completed", "failed", "canceled"}


def submit(api: httpx.Client, message: str, session_id: str) -> str:
    response = api.post("/agents/assistant/run", json={"message": message, "session_id": session_id, "wait": False})
    assert response.status_code == 202, response.text
    return response.json()["run_id"]


def user_turns(api: httpx.Client, session_id: str) -> list[str]:
    messages = api.get(f"/agents/assistant/sessions/{session_id}").json()["messages"]
    return [m["content"] for m in messages if m["role"] == "user"]


def earlier_turns_seen(model: ModelServer, session_id: str) -> list[tuple[str, list[str]]]:
    """For each model request of the session's runs: its message, and the user messages before it."""
    seen = []
    for request in model.chat_requests():
        users = [m["content"] for m in request["body"]["messages"] if m["role"] == "user"]
        if users and users[-1].startswith(session_id):
            seen.append((users[-1], users[:-1]))
    return seen


def test_runs_posted_one_after_another_run_in_order_and_wait_their_turn(api: httpx.Client,
                                                                          model: ModelServer) -> None:
    for i in range(6):
        model.say(f"answer {i}", delay=0.3)
    messages = [f"order-1 turn {i}" for i in range(6)]
    run_ids = [submit(api, message, "order-1") for message in messages]
    waiting = wait_run(api, run_ids[-1], {"queued"} | DONE)
    assert waiting["status"] == "queued" and waiting["waiting_for"] in run_ids[:-1], waiting
    assert "cancel" in waiting["links"]
    views = [wait_run(api, run_id, DONE, timeout=60) for run_id in run_ids]
    assert [v["status"] for v in views] == ["completed"] * 6
    # Replies are handed out in request order, so each run got the answer of its place: no two ran at once.
    assert [v["response"] for v in views] == [f"answer {i}" for i in range(6)]
    assert user_turns(api, "order-1") == messages
    assert earlier_turns_seen(model, "order-1") == [(m, messages[:i]) for i, m in enumerate(messages)]
    assert api.get("/agents/assistant/sessions/order-1").json()["queue"] == []


def test_concurrent_posts_on_one_session_never_fork_it(api: httpx.Client, model: ModelServer) -> None:
    messages = [f"burst-1 message {i}" for i in range(10)]
    with httpx.Client(base_url=str(api.base_url), timeout=60) as other, ThreadPoolExecutor(10) as pool:
        run_ids = list(pool.map(lambda m: submit(other, m, "burst-1"), messages))
    views = [wait_run(api, run_id, DONE, timeout=90) for run_id in run_ids]
    assert {v["status"] for v in views} == {"completed"}
    stored = user_turns(api, "burst-1")
    assert sorted(stored) == sorted(messages)
    # Whatever order they arrived in, each run saw exactly the turns stored before its own.
    seen = earlier_turns_seen(model, "burst-1")
    assert len(seen) == 10
    for message, earlier in seen:
        assert earlier == stored[:stored.index(message)], (message, earlier)


def test_a_queued_run_can_be_canceled_and_the_next_one_still_runs(api: httpx.Client, model: ModelServer) -> None:
    model.say("first answer", delay=1.5)
    first = submit(api, "cancel-1 first", "cancel-1")
    second = submit(api, "cancel-1 second", "cancel-1")
    third = submit(api, "cancel-1 third", "cancel-1")
    assert wait_run(api, second, {"queued"} | DONE)["status"] == "queued"
    canceled = api.post(f"/runs/{second}/cancel")
    assert canceled.status_code == 202, canceled.text
    assert wait_run(api, first, DONE)["status"] == "completed"
    assert wait_run(api, third, DONE)["status"] == "completed"
    assert wait_run(api, second, DONE)["status"] == "canceled"
    assert user_turns(api, "cancel-1") == ["cancel-1 first", "cancel-1 third"]
    assert earlier_turns_seen(model, "cancel-1")[-1] == ("cancel-1 third", ["cancel-1 first"])


def test_a_canceled_running_turn_hands_on_to_the_next(api: httpx.Client, model: ModelServer) -> None:
    model.say("never finished", delay=5)
    first = submit(api, "cancel-2 first", "cancel-2")
    second = submit(api, "cancel-2 second", "cancel-2")
    assert wait_run(api, second, {"queued"} | DONE)["status"] == "queued"
    assert api.post(f"/runs/{first}/cancel").status_code == 202
    # Woken at once by the cancel, not at the waiting run's next look (30 s later).
    assert wait_run(api, second, DONE, timeout=15)["status"] == "completed"
    assert user_turns(api, "cancel-2") == ["cancel-2 second"]


def test_a_run_terminated_from_elsewhere_does_not_keep_the_turn(host: Devhost, api: httpx.Client,
                                                                  model: ModelServer) -> None:
    model.say("never finished", delay=5)
    first = submit(api, "ended-1 first", "ended-1")
    wait_run(api, first, {"running"})
    # Ended by the management API (as the dashboard does), so the run itself never hands its turn on.
    terminated = httpx.post(f"{host.url}/runtime/webhooks/durabletask/instances/{first}/terminate",
                            params={"reason": "stuck", "taskHub": "agenttests"})
    assert terminated.status_code == 202, terminated.text
    assert wait_run(api, first, DONE)["status"] == "canceled"
    queue = api.get("/agents/assistant/sessions/ended-1").json()["queue"]
    assert [entry["run_id"] for entry in queue] == [first]  # it still holds the turn
    second = submit(api, "ended-1 second", "ended-1")
    # The run behind it sees that it ended and takes it out of the queue, at once rather than at its next look.
    assert wait_run(api, second, DONE, timeout=15)["status"] == "completed"
    assert user_turns(api, "ended-1") == ["ended-1 second"]
    assert api.get("/agents/assistant/sessions/ended-1").json()["queue"] == []


def test_different_sessions_do_not_wait_for_each_other(api: httpx.Client, model: ModelServer) -> None:
    model.say("slow answer", delay=3)
    slow = submit(api, "parallel-1 slow", "parallel-1")
    wait_run(api, slow, {"running"})
    quick = api.post("/agents/assistant/run", json={"message": "parallel-2 quick", "session_id": "parallel-2",
                                                     "timeout": 2.5})
    assert quick.json()["status"] == "completed", quick.json()
    assert wait_run(api, slow, DONE)["status"] == "completed"


def test_deleting_a_session_with_turns_in_progress_is_refused(api: httpx.Client, model: ModelServer) -> None:
    model.say("slow answer", delay=2)
    run_id = submit(api, "busy-1 turn", "busy-1")
    wait_run(api, run_id, {"running"})
    response = api.delete("/agents/assistant/sessions/busy-1")
    assert response.status_code == 409 and response.json()["error"]["code"] == "SessionBusy"
    assert wait_run(api, run_id, DONE)["status"] == "completed"
    assert api.delete("/agents/assistant/sessions/busy-1").status_code == 204


def test_the_order_survives_kill_9(start_app: Any, model: ModelServer) -> None:
    host: Devhost = start_app()
    for i in range(4):
        model.say(f"answer {i}", delay=1.0)
    messages = [f"crash-order turn {i}" for i in range(4)]
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        run_ids = [submit(api, message, "crash-order") for message in messages]
        wait_run(api, run_ids[-1], {"queued"})
    host.restart()
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        assert [wait_run(api, r, DONE, timeout=60)["status"] for r in run_ids] == ["completed"] * 4
        assert user_turns(api, "crash-order") == messages
        # A turn whose model call the crash cut off asks again, still seeing exactly the turns before it.
        for message, earlier in earlier_turns_seen(model, "crash-order"):
            assert earlier == messages[:messages.index(message)]
