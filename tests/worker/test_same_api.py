"""The worker's HTTP API answers as the Functions app does: the same handlers, the same JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx

from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost

from .conftest import WorkerProcess

TOOL_CALL_ID = re.compile(r"call_[0-9a-f]{10}")
SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
TIMES = {"started_at", "ended_at", "created", "updated", "queued_at"}


def normal(body: Any, *names: str) -> Any:
    """``body`` with what differs between two hosts by nature (ids, origins, clock times) replaced by names."""
    text = TOOL_CALL_ID.sub("<call>", json.dumps(body))  # the scripted model's ids are random
    for number, value in enumerate(names):
        text = text.replace(value, f"<{number}>")

    def blank(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "<time>" if k in TIMES else blank(v) for k, v in value.items()}
        if isinstance(value, list):
            return [blank(v) for v in value]
        return value

    return blank(json.loads(text))


def exchange(base: str, model: ModelServer) -> dict[str, Any]:
    """The same conversation with a host: a run with a tool step, its status, its session, errors, discovery."""
    model.call_tools(("calculate", {"expression": "12*31"}))
    model.say("12*31 is 372.")
    model.say("not JSON")
    model.say("still not JSON")
    with httpx.Client(base_url=f"{base}/api", timeout=60) as api:
        ran = api.post("/agents/assistant/run", json={"message": "what is 12*31?", "session_id": "same-api"})
        run_id = ran.json()["run_id"]
        failed = api.post("/agents/assistant/run", json={"message": "as JSON", "response_format": SCHEMA})
        calls: dict[str, httpx.Response] = {
            "run": ran,
            "failed run": failed,
            "status": api.get(f"/runs/{run_id}"),
            "session": api.get("/agents/assistant/sessions/same-api"),
            "approval of a finished run": api.post(f"/runs/{run_id}/approval", json={"approved": True}),
            "unknown run": api.get("/runs/no-such-run"),
            "unknown agent": api.post("/agents/nobody/run", json={"message": "hi"}),
            "bad body": api.post("/agents/assistant/run", content=b"{not json"),
            "agents": api.get("/agents"),
            "agent card": api.get("/a2a/assistant/.well-known/agent-card.json"),  # a FastAPI-typed handler
            "openapi": api.get("/openapi.json"),
        }
    ids = (run_id, failed.json()["run_id"], failed.json()["session_id"], base)
    return {name: (r.status_code, r.headers.get("content-type"), normal(r.json(), *ids)) for name, r in calls.items()}


def test_the_worker_serves_the_functions_apps_json(start_app: Callable[..., Devhost], worker: WorkerProcess,
                                                   model: ModelServer) -> None:
    on_functions = exchange(start_app().url, model)
    model.reset()
    on_worker = exchange(worker.url, model)
    assert on_worker["run"][0] == 200 and on_worker["run"][2]["response"] == "12*31 is 372."
    for name in on_functions:
        assert on_worker[name] == on_functions[name], name
