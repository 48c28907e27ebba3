"""The served OpenAPI document is valid 3.1 and names exactly the routes the library registers."""

from __future__ import annotations

import re

import httpx
from openapi_spec_validator import validate

from agent_app.agents import AGENTS
from agent_app.workflows import WORKFLOWS
from durable_agents import AgentFunctionApp


def registered_routes() -> set[tuple[str, str]]:
    """(method, path with parameters blanked) of every HTTP function the library registers."""
    app = AgentFunctionApp(agents=AGENTS, workflows=WORKFLOWS)
    found = set()
    for function in app.get_functions():
        trigger = function.get_trigger()
        if trigger.get_binding_name() != "httpTrigger":
            continue
        route = re.sub(r"\{[^}]+\}", "{}", trigger.route)
        found |= {(method.upper() if isinstance(method, str) else method.value, f"/api/{route}")
                  for method in trigger.methods}
    return found


def documented_routes(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
            for path, operations in document["paths"].items() for method in operations}


def test_the_document_is_valid_openapi_3_1_and_matches_the_routes(api: httpx.Client) -> None:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert documented_routes(document) == registered_routes()
    agents = document["paths"]["/api/agents/{agent}/run"]["post"]["parameters"][0]["schema"]["enum"]
    assert "assistant" in agents
    headers = [p["name"] for p in document["paths"]["/api/agents/{agent}/run"]["post"]["parameters"]]
    assert "Idempotency-Key" in headers
