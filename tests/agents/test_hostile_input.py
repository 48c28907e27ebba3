"""No input gets a 5xx from the agent and workflow APIs, and a refused request starts nothing."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fixtures.model_server import ModelServer

DEEP = b'{"message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
CASES = [
    ("/agents/assistant/run", DEEP),
    ("/agents/assistant/run", b'{"message": "hi", "timeout": NaN}'),
    ("/agents/assistant/run", b'{"message": "\\ud800"}'),
    ("/workflows/chain", b'{"topic": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ("/workflows/review", b'{"brief": "b", "timeout_seconds": Infinity}'),
    ("/agents/assistant/run", json.dumps({"message": "hi", "response_format": {
        "type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}}).encode()),
    ("/agents/assistant/run", json.dumps({"message": "hi", "response_format": {
        "$ref": "https://schemas.example.com/answer.json"}}).encode()),
    ("/agents/assistant/run", json.dumps({"message": "hi", "response_format": {
        "type": "object", "properties": {f"p{i}": {"type": "string", "description": "x" * 40} for i in range(1000)}}}
    ).encode()),
]


@pytest.mark.parametrize(("path", "body"), CASES, ids=[f"{p} {b[:30]!r}" for p, b in CASES])
def test_hostile_bodies_are_a_4xx_json_error(api: httpx.Client, model: ModelServer, path: str,
                                             body: bytes) -> None:
    response = api.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text[:300]
    assert set(response.json()["error"]) == {"code", "message"}
    assert model.chat_requests() == []


@pytest.mark.parametrize("cursor", ["9" * 40, "18446744073709551616-0", "-1", "abc"])
def test_a_cursor_out_of_range_is_a_400(api: httpx.Client, model: ModelServer, cursor: str) -> None:
    model.say("hi")
    run_id = api.post("/agents/assistant/run", json={"message": "hi"}).json()["run_id"]
    for headers, params in (({"last-event-id": cursor}, {}), ({}, {"cursor": cursor})):
        response = api.get(f"/runs/{run_id}/stream", headers={"accept": "application/json", **headers}, params=params)
        assert response.status_code == 400 and response.json()["error"]["code"] == "InvalidCursor"


def test_a_response_format_with_a_reference_it_defines_is_accepted(api: httpx.Client, model: ModelServer) -> None:
    model.say('{"city": "Paris"}')
    schema = {"$defs": {"name": {"type": "string"}}, "type": "object", "properties": {"city": {"$ref": "#/$defs/name"}},
              "required": ["city"]}
    body = api.post("/agents/assistant/run", json={"message": "where?", "response_format": schema}).json()
    assert body["status"] == "completed" and body["structured"] == {"city": "Paris"}
