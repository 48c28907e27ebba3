"""examples/trips, an app with its own agents and workflow, on devhost: nothing is tied to the repository's app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agents.helpers import wait_run, wait_workflow
from tests.fixtures.agent_app import app_env, model, model_server  # noqa: F401  (fixtures)
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import REPO, Devhost


@pytest.fixture(scope="module")
def api(model_server: ModelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:  # noqa: F811
    tmp: Path = tmp_path_factory.mktemp("trips")
    host = Devhost(app_dir=REPO / "examples" / "trips", data_dir=tmp / "data",
                   env=app_env(model_server, tmp)).start()
    try:
        with httpx.Client(base_url=f"{host.url}/api", timeout=30) as client:
            yield client
    finally:
        host.stop()


def test_the_workflow_runs_both_agents_and_the_planners_tool(api: httpx.Client, model: ModelServer) -> None:  # noqa: F811
    assert [a["name"] for a in api.get("/agents").json()["agents"]] == ["planner", "packer"]
    model.call_tools(("distance_km", {"origin": "Lisbon", "destination": "Porto"}))
    model.say("Day 1: Lisbon. Day 2: drive 274 km to Porto.")
    model.say("Sunscreen, shoes.")
    workflow_id = api.post("/workflows/trip", json={"route": ["Lisbon", "Porto"], "days": 3}).json()["id"]
    view = wait_workflow(api, workflow_id, {"completed", "failed"})
    assert view["status"] == "completed", view
    output = view["output"]
    assert output["itinerary"] == "Day 1: Lisbon. Day 2: drive 274 km to Porto."
    assert output["packing"] == "Sunscreen, shoes."
    assert "drive 274 km" in model.chat_requests()[2]["body"]["messages"][-1]["content"]
    assert output["runs"] == [f"{workflow_id}-itinerary", f"{workflow_id}-packing"]
    for run_id in output["runs"]:
        wait_run(api, run_id, {"completed"})
    tool_results = [m["content"] for r in model.chat_requests() for m in r["body"]["messages"] if m["role"] == "tool"]
    assert tool_results == ["274"]


def test_its_input_is_checked_against_its_declaration(api: httpx.Client) -> None:
    refused = api.post("/workflows/trip", json={"route": ["Lisbon"], "days": 3})
    assert refused.status_code == 400
    assert "route: List should have at least 2 items" in refused.json()["error"]["message"]
    assert api.post("/workflows/chain", json={"topic": "x"}).status_code == 404  # the root app's workflows are not here
