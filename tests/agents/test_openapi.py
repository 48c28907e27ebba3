"""The served OpenAPI document is valid 3.1 and names exactly the HTTP routes the library registers in the app."""

from __future__ import annotations

import re

import azure.functions as func
import httpx
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

import function_app
from durable_agents._openapi import document
from tests.fixtures.processes import Devhost

# A route as (method, its segments), a parameter segment as None: "{agent}", "{id:int}" and "{*rest}" alike.
Route = tuple[str, tuple[str | None, ...]]


def _segments(path: str) -> tuple[str | None, ...]:
    return tuple(None if re.fullmatch(r"\{[^}]+\}", part) else part for part in path.strip("/").split("/"))


def library_routes() -> dict[Route, bool]:
    """Every HTTP route the library registers in the app, each with whether it is anonymous.

    The app's own functions (``agent_app``'s greetings) are its business, not the library's API.
    """
    app = function_app.app
    app.functions_bindings = None  # get_functions() refuses a second call in one process without this
    routes = {}
    for function in app.get_functions():
        trigger = function.get_trigger()
        if trigger.get_binding_name() != "httpTrigger":
            continue
        if not function.get_user_function().__module__.startswith("durable_agents."):
            continue
        for method in trigger.methods:
            name = method if isinstance(method, str) else method.value
            routes[(name.upper(), _segments(f"api/{trigger.route}"))] = trigger.auth_level == func.AuthLevel.ANONYMOUS
    return routes


def documented_routes(doc: dict) -> dict[Route, bool]:
    """Every documented operation, each with whether it asks for no key."""
    return {(method.upper(), _segments(path)): operation.get("security", doc["security"]) == []
            for path, operations in doc["paths"].items() for method, operation in operations.items()}


def matches(documented: Route, registered: Route) -> bool:
    """Whether a documented path is served by a route: a parameter of the route may be documented as a value
    (one path per workflow name), a documented parameter must be one of the route's."""
    (method, doc_parts), (route_method, route_parts) = documented, registered
    return method == route_method and len(doc_parts) == len(route_parts) and all(
        part is None or part == doc_part for doc_part, part in zip(doc_parts, route_parts, strict=True))


def test_the_served_document_is_valid_openapi_3_1(host: Devhost, api: httpx.Client) -> None:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    served = response.json()
    assert served["openapi"] == "3.1.0"
    validate(served, cls=OpenAPIV31SpecValidator)
    assert served["servers"] == [{"url": host.url}]


def test_every_library_route_is_documented_and_nothing_else(api: httpx.Client) -> None:
    served, registered = api.get("/openapi.json").json(), library_routes()
    documented = documented_routes(served)
    undocumented = [route for route in registered if not any(matches(doc, route) for doc in documented)]
    unserved = [doc for doc in documented if not any(matches(doc, route) for route in registered)]
    assert not undocumented, f"routes the document does not describe: {undocumented}"
    assert not unserved, f"documented paths no route serves: {unserved}"
    # The document asks for no key exactly where the route is anonymous.
    for doc, anonymous in documented.items():
        assert {anonymous} == {registered[r] for r in registered if matches(doc, r)}, doc


def test_the_catalogue_shapes_the_document(api: httpx.Client) -> None:
    served = api.get("/openapi.json").json()
    paths, schemas = served["paths"], served["components"]["schemas"]
    run = paths["/api/agents/{agent}/run"]["post"]
    assert "assistant" in run["parameters"][0]["schema"]["enum"]
    assert {p["name"]: p["in"] for p in run["parameters"]}["Idempotency-Key"] == "header"
    assert set(run["requestBody"]["content"]) == {"application/json", "text/plain"}
    assert "422" in run["responses"] and "IdempotencyKeyMismatch" in run["responses"]["422"]["description"]
    assert "waiting_for" in schemas["Run"]["properties"]
    assert "queued" in schemas["Run"]["properties"]["status"]["enum"]
    # Each workflow is a path of its own, its body the model it declares.
    for name in ("chain", "panel", "triage", "review", "delegate"):
        body = paths[f"/api/workflows/{name}"]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/WorkflowInput.{name}"}
    assert schemas["WorkflowInput.panel"]["required"] == ["question"]
    assert "optimist" in schemas["WorkflowInput.panel"]["properties"]["panelists"]["items"]["enum"]
    event = paths["/api/workflows/{workflow_id}/events/{name}"]["post"]
    assert event["parameters"][1]["schema"]["enum"] == ["review"]
    assert schemas["WorkflowEvent.review.review"]["required"] == ["approved"]


def test_paths_follow_the_route_prefix_the_document_was_asked_under() -> None:
    doc = document("https://example.test/v2/openapi.json")
    assert doc["servers"] == [{"url": "https://example.test"}]
    assert "/v2/agents/{agent}/run" in doc["paths"] and "/v2/openapi.json" in doc["paths"]
    assert all(path.startswith("/v2/") for path in doc["paths"])
