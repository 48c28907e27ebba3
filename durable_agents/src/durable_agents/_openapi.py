"""``GET /api/openapi.json``: the OpenAPI 3.1 document of every HTTP route the library registers.

Built per request from the app's catalogue, so agent, workflow and event names are the path parameters' enums, and
each workflow's declared input (its pydantic model or JSON schema) is the request body of its own start path, with
the schema's own references pointed into the document's components. Paths take the route prefix of the request
that asked for the document, so they are right under any ``routePrefix``. Anonymous, like the A2A agent cards: a
client or a tool reads it before it has a key, it names what exists and holds no data, and every route it
describes that holds data still takes the function key.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from ._agent_run import MAX_SCHEMA_CHARS, MAX_TIMEOUT_SECONDS, SESSION_ID
from ._catalogue import WorkflowSpec, all_agents, all_workflows
from ._http import MAX_BODY_BYTES, json_response
from ._idempotency import HEADER, KEY_TTL_SECONDS, MAX_KEY_LENGTH
from ._run_stream import MAX_WAIT_SECONDS
from ._schemas import Check
from ._session import USAGE_KEYS
from ._streams import EVENT_TYPES
from ._workflows import STATUS as WORKFLOW_STATUS

bp = df.Blueprint()

ROUTE = "openapi.json"
RUN_STATUSES = ["pending", "queued", "running", "awaiting_approval", "completed", "failed", "canceled"]
STRING, OBJECT, ANY = {"type": "string"}, {"type": "object"}, {}
NULLABLE_STRING = {"type": ["string", "null"]}
# Keywords whose values are data, not schemas: a "$ref" inside them is not a reference.
_DATA_KEYWORDS = {"const", "default", "enum", "examples", "example"}
ERRORS = {
    400: "bad input, a bad Idempotency-Key (InvalidIdempotencyKey) or one of the checks the message names",
    404: "no such agent, run, session, workflow or file",
    409: "the state does not allow it (the message says which)",
    413: f"the body is over {MAX_BODY_BYTES} bytes",
    422: "IdempotencyKeyMismatch: this Idempotency-Key was used with a different request; use a new key",
    503: "accepted but not applied yet; ask again",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _answers(ok: dict[int, tuple[str, dict[str, Any]]], *errors: int) -> dict[str, Any]:
    """Responses: each success with its description and schema, each error status with the error body."""
    responses = {str(status): {"description": text, **_json(schema)} for status, (text, schema) in ok.items()}
    responses.update({str(status): {"description": ERRORS[status], **_json(_ref("Error"))} for status in errors})
    return responses


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _names(names: list[str]) -> dict[str, Any]:
    """A name from the catalogue: an enum of them; any string when there are none (an enum cannot be empty)."""
    return {"type": "string", "enum": names} if names else STRING


IDEMPOTENCY_KEY = {
    "name": HEADER, "in": "header", "required": False,
    "description": f"makes a retry safe: the same key with the same request answers the same, and nothing is done "
                   f"twice (kept {KEY_TTL_SECONDS // 3600} h); the same key with another request is a 422",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[ -~]+$"},
}
RUN_ID = _path("run_id", STRING)
WORKFLOW_ID = _path("workflow_id", {"type": "string", "description": "the id POST /api/workflows/{name} answered"})
SESSION = {"type": "string", "pattern": f"^{SESSION_ID.pattern}$"}
RUN_LINKS = {operation: {"operationId": operation, "parameters": {"run_id": "$response.body#/run_id"}}
             for operation in ("getRun", "getRunTrace", "streamRun", "approveRun", "cancelRun")}
WORKFLOW_LINKS = {operation: {"operationId": operation, "parameters": {"workflow_id": "$response.body#/id"}}
                  for operation in ("getWorkflow", "sendWorkflowEvent")}
USAGE = {"type": "object", "properties": {key: {"type": "integer"} for key in USAGE_KEYS}}
LINKS = {"type": "object", "additionalProperties": STRING}
TRACE_ID = {"type": "string", "pattern": "^[0-9a-f]{32}$", "description": "as trace viewers show it"}

SCHEMAS: dict[str, Any] = {
    "Error": _object(["error"], error=_object(["code", "message"], code={
        "type": "string", "description": "stable, e.g. InvalidJson, RunNotFound, IdempotencyKeyMismatch"},
        message={"type": "string", "description": "what went wrong and what to do"})),
    "Usage": USAGE,
    "Step": _object(["id", "kind", "name", "status", "started_at"],
                    id=STRING, kind={"type": "string", "enum": ["model", "tool", "approval"]}, name=STRING,
                    status={"type": "string", "description": "running, completed, failed; an approval's outcome: "
                                                             "approved, denied or timed_out"},
                    started_at=STRING, ended_at=NULLABLE_STRING, usage=_ref("Usage")),
    "Run": _object(
        ["run_id", "agent", "session_id", "status", "steps", "usage", "links"],
        run_id=STRING, agent=STRING, session_id=STRING,
        status={"type": "string", "enum": RUN_STATUSES},
        waiting_for={**NULLABLE_STRING, "description": "while queued: the run that holds the session's turn"},
        steps={"type": "array", "items": _ref("Step")}, usage=_ref("Usage"),
        response={**NULLABLE_STRING, "description": "when completed"},
        structured={"description": "when completed with a response_format: the answer as JSON"},
        error={"type": "string", "description": "when failed"},
        pending_approval={**_object(["tool", "arguments", "requested_at", "expires_at"], tool=STRING,
                                    arguments=ANY, requested_at=STRING, expires_at=STRING),
                          "description": "while awaiting_approval: the tool call that waits"},
        links={**LINKS, "description": "status and stream; cancel and approval while they apply"}),
    "RunChange": _object(["run_id", "status", "links"], run_id=STRING,
                         status={"type": "string", "enum": ["running", "canceled"]}, links=LINKS),
    "RunRequest": {"type": "object", "additionalProperties": False, "required": ["message"], "properties": {
        "message": {"type": "string", "minLength": 1}, "session_id": SESSION,
        "wait": {"type": "boolean", "description": "wait for the answer (default true)"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT_SECONDS,
                    "description": "how long to wait, in seconds (default 60)"},
        "response_format": {"type": "object", "description": f"a JSON schema (draft 2020-12, at most "
                            f"{MAX_SCHEMA_CHARS} characters, every $ref defined inside it) the answer must fit"}}},
    "Session": _object(
        ["agent", "session_id", "messages", "summary", "usage", "turns", "created", "updated", "queue"],
        agent=STRING, session_id=STRING, messages={"type": "array", "items": OBJECT}, summary=NULLABLE_STRING,
        usage=_ref("Usage"), turns={"type": "integer"}, compacted_messages={"type": "integer"},
        created=STRING, updated=STRING,
        queue={"type": "array", "description": "runs in progress or waiting, in arrival order",
               "items": _object(["run_id"], run_id=STRING, queued_at=STRING)}),
    "Workflow": _object(
        ["id", "pattern", "status", "links"], id=STRING, pattern=STRING,
        status={"type": "string", "enum": sorted(set(WORKFLOW_STATUS.values()))},
        custom_status={"description": "the workflow's progress (stage, current draft, ...)"},
        output={"description": "when completed"}, runs={"type": ["array", "null"], "items": STRING},
        error={"type": "string"}, links=LINKS),
    "WorkflowStarted": _object(["id", "pattern", "links"], id=STRING, pattern=STRING, links=LINKS),
    "EventSent": _object(["id", "event", "links"], id=STRING, event=STRING, links=LINKS),
    # One Server-Sent Event, as an SSE parser hands it over; the stream ends after a done or error event.
    "StreamEvent": _object(["event", "data"], id={**STRING, "description": "the cursor to resume after it"},
                           event={"type": "string", "enum": sorted(EVENT_TYPES)},
                           data={**STRING, "contentMediaType": "application/json",
                                 "description": "the event as JSON: id, type, step, data"},
                           retry={"type": "integer", "description": "how long a client waits to reconnect, in ms"}),
    "StreamPoll": _object(["events", "cursor", "done"], events={"type": "array", "items": _object(
        ["id", "type"], id=STRING, type={"type": "string", "enum": sorted(EVENT_TYPES)}, step=NULLABLE_STRING,
        data=ANY)}, cursor={**NULLABLE_STRING, "description": "pass it back to read on"},
        done={"type": "boolean", "description": "nothing more will come"}),
    "Health": _object(["status", "agents", "model", "streams"],
                      status={"type": "string", "enum": ["ok", "degraded"]},
                      agents={"type": "array", "items": STRING}, model=OBJECT, streams=OBJECT),
    "Agents": _object(["agents"], agents={"type": "array", "items": _object(
        ["name", "description"], name=STRING, description=STRING, remote={"type": "boolean"},
        tools={"type": "array", "items": _object(["name"], name=STRING, description=STRING,
                                                 long_running={"type": "boolean"},
                                                 requires_approval={"type": "boolean"},
                                                 idempotent={"type": "boolean"})},
        a2a=_object(["card"], card=STRING))}),
    "SessionList": _object(["agent", "sessions"], agent=STRING, sessions={"type": "array", "items": _object(
        ["session_id"], session_id=STRING, turns={"type": "integer"}, messages={"type": "integer"},
        compacted_messages={"type": "integer"}, summarised={"type": "boolean"}, usage=_ref("Usage"),
        created=STRING, updated=STRING, queue={"type": "array", "items": STRING}, last_message=NULLABLE_STRING)}),
    "RunList": _object(["since", "runs"], since=STRING, runs={"type": "array", "items": _object(
        ["run_id", "status"], run_id=STRING, agent=NULLABLE_STRING, session_id=NULLABLE_STRING,
        status={"type": "string", "enum": RUN_STATUSES}, created=NULLABLE_STRING, updated=NULLABLE_STRING,
        steps={"type": "integer"}, usage={"anyOf": [_ref("Usage"), {"type": "null"}]})}),
    "WorkflowList": _object(["workflows"], workflows={"type": "array", "items": _object(
        ["name", "events", "instances"], name=STRING, input_schema={"type": ["object", "null"]},
        events={"type": "array", "items": STRING},
        event_schemas={"type": "object", "additionalProperties": {"type": ["object", "null"]}},
        instances={"type": "array", "items": _object(
            ["id", "pattern", "status"], id=STRING, pattern=STRING,
            status={"type": "string", "enum": sorted(set(WORKFLOW_STATUS.values()))}, stage=ANY,
            runs={"type": "array", "items": STRING}, created=NULLABLE_STRING, updated=NULLABLE_STRING,
            trace_id=TRACE_ID)})}),
    "Trace": _object(["run_id", "trace_id", "root", "exported"], run_id=STRING, trace_id=TRACE_ID,
                     root={**STRING, "description": "the instance the trace is named after: the run, or the "
                                                    "workflow that made it"},
                     exported={"type": "boolean", "description": "whether this app exports traces at all"}),
    "JsonRpcRequest": _object(
        ["jsonrpc", "method"], jsonrpc={"type": "string", "const": "2.0"}, id={"type": ["string", "integer"]},
        method={"type": "string", "examples": ["SendMessage", "GetTask", "message/send", "tasks/get"]},
        params=OBJECT),
}


def _pointed(schema: Any, base: str) -> Any:
    """``schema`` with its local references (``#...``) made to point under ``base``, where it will sit."""
    if isinstance(schema, list):
        return [_pointed(item, base) for item in schema]
    if not isinstance(schema, dict):
        return schema
    pointed = {}
    for key, value in schema.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#"):
            pointed[key] = base + value[1:]
        else:
            pointed[key] = value if key in _DATA_KEYWORDS else _pointed(value, base)
    return pointed


def _declared(check: Check, name: str, schemas: dict[str, Any]) -> dict[str, Any]:
    """The schema ``check`` declares, put in the components as ``name``; any JSON when it declares none."""
    declared = check.json_schema()
    if declared is None:
        return ANY
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    schemas[name] = _pointed(declared, f"#/components/schemas/{name}")
    return _ref(name)


def _start_workflow(spec: WorkflowSpec, schemas: dict[str, Any]) -> dict[str, Any]:
    body = _declared(spec.check_input, f"WorkflowInput.{spec.name}", schemas)
    return {"post": {
        "operationId": f"startWorkflow_{spec.name}", "tags": ["workflows"],
        "summary": f"start the {spec.name} workflow with its declared input",
        "parameters": [IDEMPOTENCY_KEY],
        "requestBody": {"required": body is not ANY, **_json(body)},
        "responses": {"202": {"description": "started", "links": WORKFLOW_LINKS, **_json(_ref("WorkflowStarted"))},
                      **_answers({}, 400, 413, 422)}}}


def _paths(prefix: str, schemas: dict[str, Any]) -> dict[str, Any]:
    agent = _path("agent", _names([a.name for a in all_agents()]))
    workflows = all_workflows()
    events = sorted({event for spec in workflows for event in spec.events})
    event_bodies = [_declared(check, f"WorkflowEvent.{spec.name}.{event}", schemas)
                    for spec in workflows for event, check in spec.events.items()]
    run = {"headers": {"Location": {"schema": STRING}}, "links": RUN_LINKS, **_json(_ref("Run"))}
    paths: dict[str, Any] = {
        "/health": {"get": {
            "operationId": "health", "tags": ["app"], "security": [], "summary": "whether the app can serve",
            "responses": _answers({200: ("its agents, the model and the stream store in use", _ref("Health"))})}},
        f"/{ROUTE}": {"get": {
            "operationId": "openapi", "tags": ["app"], "security": [], "summary": "this document",
            "responses": _answers({200: ("OpenAPI 3.1", OBJECT)})}},
        "/agents": {"get": {
            "operationId": "listAgents", "tags": ["agents"], "summary": "the agents, their tools and A2A cards",
            "responses": _answers({200: ("agents", _ref("Agents"))})}},
        "/agents/{agent}/run": {"post": {
            "operationId": "startRun", "tags": ["runs"],
            "summary": "start a run: one message to the agent, queued behind the session's earlier turns",
            "parameters": [agent, _query("session_id", SESSION, "the conversation (a new one when absent)"),
                           _query("wait", {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]},
                                  "wait for the answer (default true); the body's wait wins"),
                           IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("RunRequest")},
                "text/plain": {"schema": {"type": "string", "minLength": 1, "description": "the message"}}}},
            "responses": {"200": {"description": "the run, completed in time", **run},
                          "202": {"description": "the run, still going (or awaiting approval)", **run},
                          **_answers({}, 400, 404, 413, 422)}}},
        "/agents/{agent}/sessions": {"get": {
            "operationId": "listSessions", "tags": ["sessions"],
            "summary": "the agent's sessions, most recently used first", "parameters": [agent],
            "responses": _answers({200: ("sessions", _ref("SessionList"))}, 404)}},
        "/agents/{agent}/sessions/{session_id}": {
            "get": {"operationId": "getSession", "tags": ["sessions"], "summary": "a conversation",
                    "parameters": [agent, _path("session_id", SESSION)],
                    "responses": _answers({200: ("the session", _ref("Session"))}, 404)},
            "delete": {"operationId": "deleteSession", "tags": ["sessions"],
                       "summary": "forget a conversation (409 SessionBusy while runs are queued or running on it)",
                       "parameters": [agent, _path("session_id", SESSION)],
                       "responses": {"204": {"description": "forgotten"}, **_answers({}, 404, 409, 503)}}},
        "/runs": {"get": {
            "operationId": "listRuns", "tags": ["runs"], "summary": "recent runs, newest first",
            "parameters": [_query("since", STRING, "an ISO 8601 time (default: 24 hours ago)"),
                           _query("agent", STRING, "only this agent's runs"),
                           _query("session_id", STRING, "only this session's runs")],
            "responses": _answers({200: ("runs", _ref("RunList"))}, 400)}},
        "/runs/{run_id}": {"get": {
            "operationId": "getRun", "tags": ["runs"], "summary": "a run: status, steps, usage, answer or error",
            "parameters": [RUN_ID], "responses": _answers({200: ("the run", _ref("Run"))}, 404)}},
        "/runs/{run_id}/trace": {"get": {
            "operationId": "getRunTrace", "tags": ["runs"], "summary": "the trace id the run's spans carry",
            "parameters": [RUN_ID], "responses": _answers({200: ("the trace", _ref("Trace"))}, 404)}},
        "/runs/{run_id}/approval": {"post": {
            "operationId": "approveRun", "tags": ["runs"],
            "summary": "approve or deny the tool call a run waits on (409 when nothing waits)",
            "parameters": [RUN_ID, IDEMPOTENCY_KEY],
            "requestBody": {"required": True, **_json(_object(["approved"], approved={"type": "boolean"},
                                                              comment={"type": "string"}))},
            "responses": _answers({202: ("delivered", _ref("RunChange"))}, 400, 404, 409, 413, 422)}},
        "/runs/{run_id}/cancel": {"post": {
            "operationId": "cancelRun", "tags": ["runs"], "summary": "cancel a run (409 when it has finished)",
            "parameters": [RUN_ID], "responses": _answers({202: ("canceled", _ref("RunChange"))}, 404, 409)}},
        "/runs/{run_id}/stream": {"get": {
            "operationId": "streamRun", "tags": ["runs"],
            "summary": "the run's events: Server-Sent Events, resumable by cursor; with Accept: application/json, "
                       "a long-poll",
            "parameters": [RUN_ID, _query("cursor", STRING, "read after this event (SSE: or Last-Event-ID)"),
                           {"name": "Last-Event-ID", "in": "header", "required": False, "schema": STRING},
                           _query("wait", {"type": "number", "minimum": 0, "maximum": MAX_WAIT_SECONDS},
                                  "long-poll only: seconds to wait for the first new event (default 0)")],
            "responses": {"200": {"description": "events", "content": {
                "text/event-stream": {"schema": _ref("StreamEvent")},
                "application/json": {"schema": _ref("StreamPoll")}}}, **_answers({}, 400, 404, 503)}}},
        "/workflows": {"get": {
            "operationId": "listWorkflows", "tags": ["workflows"],
            "summary": "the workflows, the events each takes, and their instances, newest first",
            "parameters": [_query("name", STRING, "only this workflow")],
            "responses": _answers({200: ("workflows", _ref("WorkflowList"))}, 404)}},
        "/workflows/{workflow_id}": {"get": {
            "operationId": "getWorkflow", "tags": ["workflows"],
            "summary": "a workflow: status, progress, output and the runs it made",
            "parameters": [WORKFLOW_ID], "responses": _answers({200: ("the workflow", _ref("Workflow"))}, 404)}},
        "/workflows/{workflow_id}/events/{name}": {"post": {
            "operationId": "sendWorkflowEvent", "tags": ["workflows"],
            "summary": "send a workflow one of the events it declares (409 once it has finished)",
            "parameters": [WORKFLOW_ID, _path("name", _names(events)), IDEMPOTENCY_KEY],
            "requestBody": {"required": False, **_json({"anyOf": event_bodies} if event_bodies else ANY)},
            "responses": _answers({202: ("delivered", _ref("EventSent"))}, 400, 404, 409, 413, 422)}},
        "/a2a/{agent}/.well-known/agent-card.json": {"get": {
            "operationId": "a2aCard", "tags": ["a2a"], "security": [], "summary": "the agent's A2A agent card",
            "parameters": [agent], "responses": _answers({200: ("the card", OBJECT)}, 404)}},
        "/a2a/{agent}": {"post": {
            "operationId": "a2aRpc", "tags": ["a2a"],
            "summary": "A2A JSON-RPC: protocol 1.0 with the A2A-Version header, 0.3 without; JSON-RPC errors come "
                       "with status 200",
            "parameters": [agent, {"name": "A2A-Version", "in": "header", "required": False, "schema": STRING}],
            "requestBody": {"required": True, **_json(_ref("JsonRpcRequest"))},
            "responses": {"200": {"description": "a JSON-RPC response; SSE for the streaming methods", "content": {
                "application/json": {"schema": OBJECT}, "text/event-stream": {"schema": _object(["data"], data={
                    **STRING, "contentMediaType": "application/json"})}}},
                **_answers({}, 404)}}},
        "/console": {"get": {
            "operationId": "console", "tags": ["console"], "summary": "the agent console page",
            "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": STRING}}}}}},
        "/console/{file}": {"get": {
            "operationId": "consoleFile", "tags": ["console"], "security": [],
            "summary": "one of the console page's scripts, styles and icon", "parameters": [_path("file", STRING)],
            "responses": {"200": {"description": "the file", "content": {
                "text/javascript": {"schema": STRING}, "text/css": {"schema": STRING},
                "image/svg+xml": {"schema": STRING}}}, **_answers({}, 404)}}},
    }
    for spec in workflows:
        paths[f"/workflows/{spec.name}"] = _start_workflow(spec, schemas)
    if not workflows:  # the route is there all the same, and answers 404
        paths["/workflows/{workflow}"] = {"post": {
            "operationId": "startWorkflow", "tags": ["workflows"], "summary": "this app declares no workflow",
            "parameters": [_path("workflow", STRING)], "responses": _answers({}, 404)}}
    return {prefix + path: operations for path, operations in paths.items()}


def document(url: str) -> dict[str, Any]:
    """The document for a request to ``url`` (this route): its origin is the server, its prefix the paths'."""
    parts = urlsplit(url)
    prefix = parts.path.rstrip("/").removesuffix(f"/{ROUTE}")
    schemas = dict(SCHEMAS)
    paths = _paths(prefix, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "durable agents", "version": "1.0",
                 "description": "Agents whose runs are durable: every model and tool call is a step. Every error "
                                "is a JSON body {\"error\": {\"code\", \"message\"}} with a 4xx/5xx status."},
        "servers": [{"url": f"{parts.scheme}://{parts.netloc}"}],
        "security": [{"functionKeyHeader": []}, {"functionKeyQuery": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "functionKeyHeader": {"type": "apiKey", "in": "header", "name": "x-functions-key",
                                      "description": "the function key (Azure); devhost asks for none unless "
                                                     "started with --enforce-auth"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"}},
            "schemas": schemas},
    }


@bp.route(route=ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """The OpenAPI 3.1 document of this app's agent and workflow API."""
    return json_response(document(req.url))
