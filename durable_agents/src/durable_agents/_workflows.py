"""The HTTP API of the app's workflows: start one, follow it, send it events."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func

from ._catalogue import WorkflowSpec, all_workflows, workflow_of
from ._catalogue import get_workflow as find_workflow
from ._errors import AgentError
from ._http import error_response, json_response, read_body
from ._idempotency import once, request_key

STATUS = {"Pending": "pending", "Running": "running", "Completed": "completed", "Failed": "failed",
          "Terminated": "canceled", "Suspended": "suspended", "ContinuedAsNew": "running"}
bp = df.Blueprint()


def _links(req: func.HttpRequest, workflow_id: str) -> dict[str, str]:
    parts = urlsplit(req.url)
    base = f"{parts.scheme}://{parts.netloc}/api/workflows/{workflow_id}"
    return {"status": base, "events": base + "/events/{name}"}


async def _status(client: df.DurableOrchestrationClient,
                  workflow_id: str) -> tuple[WorkflowSpec, df.DurableOrchestrationStatus]:
    status = await client.get_status(workflow_id)
    spec = workflow_of(status.name or "") if status else None
    if spec is None:
        raise AgentError("WorkflowNotFound", f"no workflow with id {workflow_id!r}", 404)
    return spec, status


@bp.route(route="workflows/{pattern}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def start_workflow(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start a workflow with its input, checked against what it declares; 202 with the workflow id and links."""
    try:
        name = req.route_params["pattern"]
        spec = find_workflow(name)
        if spec is None:
            names = ", ".join(w.name for w in all_workflows()) or "none"
            raise AgentError("UnknownWorkflow", f"no workflow {name!r}; this app has: {names}", 404)
        workflow_input = spec.check_input(read_body(req))

        async def start(nonce: str) -> dict[str, Any]:
            workflow_id = f"{name}-{nonce}"
            if (await client.get_status(workflow_id)).runtime_status is None:  # else a retry after a crash found it
                await client.start_new(spec.orchestrator, workflow_id, workflow_input)
            return {"id": workflow_id, "pattern": name, "links": _links(req, workflow_id)}

        answer = await once(request_key(req), f"workflow:{name}", workflow_input, start)
        return json_response(answer, 202, {"Location": answer["links"]["status"]})
    except AgentError as exc:
        return error_response(exc)


@bp.route(route="workflows/{workflow_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def get_workflow(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """A workflow's status, progress, output and the agent runs it made."""
    try:
        workflow_id = req.route_params["workflow_id"]
        spec, status = await _status(client, workflow_id)
        custom = status.custom_status or {}
        output = status.output
        state = STATUS.get(status.runtime_status.value if status.runtime_status else "Pending", "running")
        body: dict[str, Any] = {
            "id": workflow_id, "pattern": spec.name, "status": state, "custom_status": custom,
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
    """Send a workflow one of the events it declares (e.g. a review decision); 409 once it has finished."""
    try:
        workflow_id, name = req.route_params["workflow_id"], req.route_params["name"]
        spec, _ = await _status(client, workflow_id)
        check = spec.events.get(name)
        if check is None:
            declared = ", ".join(spec.events) or "none"
            raise AgentError("UnknownEvent", f"workflow {spec.name} waits for no event {name!r}; it takes: {declared}")
        body = check(read_body(req))

        async def send(_: str) -> dict[str, Any]:
            _, status = await _status(client, workflow_id)
            if status.runtime_status and status.runtime_status.value in ("Completed", "Failed", "Terminated"):
                raise AgentError("WorkflowFinished", f"workflow {workflow_id} has finished", 409)
            await client.raise_event(workflow_id, name, body)
            return {"id": workflow_id, "event": name, "links": _links(req, workflow_id)}

        return json_response(await once(request_key(req), f"event:{workflow_id}:{name}", body, send), 202)
    except AgentError as exc:
        return error_response(exc)
