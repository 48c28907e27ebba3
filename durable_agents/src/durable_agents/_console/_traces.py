"""``GET /api/runs/{run_id}/trace``: the trace id a run's spans carry, to look the run up in a trace viewer.

The library derives trace ids from instance ids (``_telemetry.trace_id``): a run's trace is named after the run,
or after the workflow that made it (its input's ``trace_root``), so a workflow's runs share one trace.
"""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from .. import _telemetry as telemetry
from .._agent_run import ORCHESTRATOR as RUN_ORCHESTRATOR
from .._errors import AgentError
from .._http import error_response, json_response
from ._page import bp


def trace_hex(root: str) -> str:
    """The trace id as OTLP viewers and Application Insights (``operation_Id``) show it: 32 hex digits."""
    return f"{telemetry.trace_id(root):032x}"


def run_trace_root(status: df.DurableOrchestrationStatus) -> str:
    """The instance a run's trace is named after: the workflow that made it (its input's ``trace_root``), or itself."""
    spec: Any = status.input_
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except ValueError:
            spec = None
    root = spec.get("trace_root") if isinstance(spec, dict) else None
    return root if isinstance(root, str) and root else status.instance_id


@bp.route(route="runs/{run_id}/trace", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def run_trace(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The run's trace id, the instance it is derived from, and whether this app exports traces at all."""
    run_id = req.route_params["run_id"]
    status = await client.get_status(run_id)
    if not status or (status.name or "").lower() != RUN_ORCHESTRATOR:
        return error_response(AgentError("RunNotFound", f"no run with id {run_id!r}", 404))
    root = run_trace_root(status)
    return json_response({"run_id": run_id, "trace_id": trace_hex(root), "root": root,
                          "exported": telemetry.enabled()})
