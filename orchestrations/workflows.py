"""The HTTP API of the patterns: start one, follow it, send it events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from agents.errors import AgentError
from agents.http import error_response, json_response, read_body
from orchestrations import chain, panel, review, triage
from orchestrations.agent_calls import run_config

PATTERNS: dict[str, ModuleType] = {"chain": chain, "panel": panel, "triage": triage, "review": review}
BY_ORCHESTRATOR = {module.ORCHESTRATOR: name for name, module in PATTERNS.items()}
STATUS = {"Pending": "pending", "Running": "running", "Completed": "completed", "Failed": "failed",
          "Terminated": "canceled", "Suspended": "suspended", "ContinuedAsNew": "running"}
bp = df.Blueprint()


def _links(req: func.HttpRequest, workflow_id: str) -> dict[str, str]:
    parts = urlsplit(req.url)
    base = f"{parts.scheme}://{parts.netloc}/api/workflows/{workflow_id}"
    return {"status": base, "events": base + "/events/{name}"}


async def _status(client: df.DurableOrchestrationClient, workflow_id: str) -> tuple[str, df.DurableOrchestrationStatus]:
    status = await client.get_status(workflow_id)
    pattern = BY_ORCHESTRATOR.get((status.name or "").lower()) if status else None
    if pattern is None:
        raise AgentError("WorkflowNotFound", f"no workflow with id {workflow_id!r}", 404)
    return pattern, status


@bp.route(route="workflows/{pattern}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def start_workflow(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start chain, panel, triage or review; 202 with the workflow id and links."""
    try:
        name = req.route_params["pattern"]
        module = PATTERNS.get(name)
        if module is None:
            raise AgentError("UnknownPattern", f"no pattern {name!r}; use one of {', '.join(PATTERNS)}", 404)
        body = read_body(req)
        if not isinstance(body, dict):
            raise AgentError("InvalidJson", "the body must be a JSON object")
        parse: Callable[[dict[str, Any]], dict[str, Any]] = module.parse_input
        workflow_id = f"{name}-{uuid.uuid4().hex}"
        await client.start_new(module.ORCHESTRATOR, workflow_id, {"input": parse(body), "config": run_config()})
        links = _links(req, workflow_id)
        return json_response({"id": workflow_id, "pattern": name, "links": links}, 202,
                             {"Location": links["status"]})
    except AgentError as exc:
        return error_response(exc)


@bp.route(route="workflows/{workflow_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def get_workflow(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """A workflow's status, progress, output and the agent runs it made."""
    try:
        workflow_id = req.route_params["workflow_id"]
        pattern, status = await _status(client, workflow_id)
        custom = status.custom_status or {}
        output = status.output
        state = STATUS.get(status.runtime_status.value if status.runtime_status else "Pending", "running")
        body: dict[str, Any] = {
            "id": workflow_id, "pattern": pattern, "status": state, "custom_status": custom,
            "output": output if state == "completed" else None,
            "runs": (output or {}).get("runs") if isinstance(output, dict) else custom.get("runs", []),
            "links": _links(req, workflow_id),
        }
        if state == "failed":
            body["error"] = output if isinstance(output, str) else json.dumps(output)
        return json_response(body)
    except AgentError as exc:
        return error_response(exc)


@bp.route(route="workflows/{workflow_id}/events/{name}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def workflow_event(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Send a workflow an event (e.g. a review decision); 409 once it has finished."""
    try:
        workflow_id, name = req.route_params["workflow_id"], req.route_params["name"]
        pattern, status = await _status(client, workflow_id)
        if status.runtime_status and status.runtime_status.value in ("Completed", "Failed", "Terminated"):
            raise AgentError("WorkflowFinished", f"workflow {workflow_id} has finished", 409)
        body = read_body(req)
        checker = getattr(PATTERNS[pattern], "check_event", None)
        if checker is not None:
            checker(name, body)
        await client.raise_event(workflow_id, name, body)
        return json_response({"id": workflow_id, "event": name, "links": _links(req, workflow_id)}, 202)
    except AgentError as exc:
        return error_response(exc)
