"""``GET /api/openapi.json``: the OpenAPI 3.1 document of the agent, run, session, workflow and A2A routes.

Built per request from the app's catalogue, so agent and workflow names are the path parameters' enums and each
workflow's declared input is its request body. Anonymous, like the agent cards: it names what exists, and every
route it describes still takes the function key.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func

from ._a2a.server import origin_of
from ._agent_run import MAX_TIMEOUT_SECONDS, SESSION_ID
from ._catalogue import all_agents, all_workflows
from ._http import json_response
from ._idempotency import HEADER, MAX_KEY_LENGTH
from ._streams import EVENT_TYPES

bp = df.Blueprint()

RUN_STATUSES = ["pending", "queued", "running", "awaiting_approval", "completed", "failed", "canceled"]
ERROR = {"$ref": "#/components/schemas/Error"}
OBJECT = {"type": "object"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _answers(ok: dict[str, tuple[str, dict[str, Any]]], *errors: int) -> dict[str, Any]:
    responses = {status: {"description": text, **_json(schema)} for status, (text, schema) in ok.items()}
    for status in errors:
        responses[str(status)] = {"description": "error", **_json(ERROR)}
    return responses


def _param(name: str, where: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema}


def _idempotency() -> dict[str, Any]:
    return {"name": HEADER, "in": "header", "required": False,
            "description": "same key and request: the same answer, nothing done twice (kept 24 h); "
                           "another request with the key: 422",
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH}}


def document(origin: str) -> dict[str, Any]:
    """The document, with ``origin`` as the server."""
    agents = {"type": "string", "enum": [a.name for a in all_agents()] or ["none"]}
    workflows = [w.name for w in all_workflows()]
    agent, run_id = _param("agent", "path", agents), _param("run_id", "path", {"type": "string"})
    session = {"type": "string", "pattern": f"^{SESSION_ID.pattern}$"}
    run_body = {"type": "object", "additionalProperties": False, "required": ["message"], "properties": {
        "message": {"type": "string", "minLength": 1}, "session_id": session, "wait": {"type": "boolean"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT_SECONDS},
        "response_format": {"type": "object", "description": "a JSON schema (draft 2020-12) for the answer"}}}
    run_view = {"$ref": "#/components/schemas/Run"}
    paths: dict[str, Any] = {
        "/api/health": {"get": {"summary": "whether the app can serve", "security": [],
                                "responses": _answers({"200": ("status", OBJECT)})}},
        "/api/openapi.json": {"get": {"summary": "this document", "security": [],
                                      "responses": _answers({"200": ("the document", OBJECT)})}},
        "/api/agents": {"get": {"summary": "the agents, their tools and A2A cards",
                                "responses": _answers({"200": ("agents", OBJECT)})}},
        "/api/agents/{agent}/run": {"post": {
            "summary": "start a run (queued behind the session's earlier turns)",
            "parameters": [agent, _param("session_id", "query", session),
                           _param("wait", "query", {"type": "string", "enum": ["true", "false", "1", "0"]}),
                           _idempotency()],
            "requestBody": {"required": True, "content": {"application/json": {"schema": run_body},
                                                          "text/plain": {"schema": {"type": "string"}}}},
            "responses": _answers({"200": ("the finished run", run_view), "202": ("the run, still going", run_view)},
                                  400, 404, 413, 422)}},
        "/api/agents/{agent}/sessions/{session_id}": {
            "get": {"summary": "a conversation", "parameters": [agent, _param("session_id", "path", session)],
                    "responses": _answers({"200": ("the session", OBJECT)}, 404)},
            "delete": {"summary": "forget a conversation", "parameters": [agent, _param("session_id", "path", session)],
                       "responses": {"204": {"description": "forgotten"},
                                     **_answers({}, 404, 409, 503)}}},
        "/api/runs/{run_id}": {"get": {"summary": "a run", "parameters": [run_id],
                                       "responses": _answers({"200": ("the run", run_view)}, 404)}},
        "/api/runs/{run_id}/approval": {"post": {
            "summary": "approve or deny the tool call a run waits on", "parameters": [run_id, _idempotency()],
            "requestBody": {"required": True, **_json({"type": "object", "required": ["approved"], "properties": {
                "approved": {"type": "boolean"}, "comment": {"type": "string"}}})},
            "responses": _answers({"202": ("delivered", OBJECT)}, 400, 404, 409, 422)}},
        "/api/runs/{run_id}/cancel": {"post": {"summary": "cancel a run", "parameters": [run_id],
                                               "responses": _answers({"202": ("canceled", OBJECT)}, 404, 409)}},
        "/api/runs/{run_id}/stream": {"get": {
            "summary": "the run's events: Server-Sent Events, or a JSON long-poll with Accept: application/json",
            "parameters": [run_id, _param("cursor", "query", {"type": "string"}),
                           _param("Last-Event-ID", "header", {"type": "string"}),
                           _param("wait", "query", {"type": "number", "minimum": 0, "maximum": 30})],
            "responses": {"200": {"description": "events", "content": {
                "text/event-stream": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object", "properties": {
                    "events": {"type": "array", "items": {"type": "object", "properties": {
                        "type": {"type": "string", "enum": sorted(EVENT_TYPES)}}}},
                    "cursor": {"type": ["string", "null"]}, "done": {"type": "boolean"}}}}}},
                **_answers({}, 400, 404)}}},
        "/api/workflows/{workflow}": {
            "post": {"summary": "start the workflow named in the path, with its declared input",
                     "parameters": [_param("workflow", "path", {"type": "string", "enum": workflows or ["none"]}),
                                    _idempotency()],
                     "requestBody": {"required": False, **_json(OBJECT)},
                     "responses": _answers({"202": ("started", OBJECT)}, 400, 404, 413, 422)},
            "get": {"summary": "a workflow by its id: status, stage, output, the runs it made",
                    "parameters": [_param("workflow", "path", {"type": "string"})],
                    "responses": _answers({"200": ("the workflow", OBJECT)}, 404)}},
        "/api/workflows/{workflow}/events/{name}": {"post": {
            "summary": "send a workflow one of the events it declares",
            "parameters": [_param("workflow", "path", {"type": "string"}), _param("name", "path", {"type": "string"}),
                           _idempotency()],
            "requestBody": {"required": False, **_json(OBJECT)},
            "responses": _answers({"202": ("delivered", OBJECT)}, 400, 404, 409, 413, 422)}},
        "/api/a2a/{agent}/.well-known/agent-card.json": {"get": {
            "summary": "the agent's A2A agent card", "security": [], "parameters": [agent],
            "responses": _answers({"200": ("the card", OBJECT)}, 404)}},
        "/api/a2a/{agent}": {"post": {
            "summary": "A2A JSON-RPC (protocol 1.0 with the A2A-Version header, 0.3 without): errors are JSON-RPC "
                       "errors with status 200",
            "parameters": [agent, _param("A2A-Version", "header", {"type": "string"})],
            "requestBody": {"required": True, **_json(OBJECT)},
            "responses": {"200": {"description": "a JSON-RPC response, or SSE for the streaming methods",
                                  **_json(OBJECT)}, **_answers({}, 404)}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "durable agents", "version": "1.0",
                 "description": "Agents whose runs are durable: every model and tool call is a step."},
        "servers": [{"url": origin}],
        "security": [{"functionKeyHeader": []}, {"functionKeyQuery": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "functionKeyHeader": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
                "Run": {"type": "object", "required": ["run_id", "agent", "session_id", "status", "links"],
                        "properties": {
                            "run_id": {"type": "string"}, "agent": {"type": "string"},
                            "session_id": {"type": "string"}, "status": {"type": "string", "enum": RUN_STATUSES},
                            "waiting_for": {"type": "string"}, "steps": {"type": "array"}, "usage": OBJECT,
                            "response": {"type": ["string", "null"]}, "structured": {}, "error": {"type": "string"},
                            "pending_approval": OBJECT, "links": OBJECT}}}},
    }


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI 3.1 document of this app's agent API."""
    return json_response(document(origin_of(req.url)))
