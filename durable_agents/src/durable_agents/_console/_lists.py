"""Read-only lists the console shows: an agent's sessions, recent runs, and the instances of each workflow.

The Durable client lists orchestration instances, not entities, so sessions are found through their expiry
watches (one orchestration per session, named after it), and runs and workflows by their orchestrator's name.
Each list holds the newest ``MAX_ITEMS``; each item is a summary, and the existing single-item routes give the rest.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from .. import _session_expiry as session_expiry
from .._agent_run import ORCHESTRATOR as RUN_ORCHESTRATOR
from .._catalogue import WorkflowSpec, all_workflows, get_agent, get_workflow
from .._errors import AgentError
from .._http import error_response, json_response
from .._steps import read_session
from .._workflows import STATUS as WORKFLOW_STATUS
from ._page import bp
from ._traces import trace_hex

MAX_ITEMS = 100
DEFAULT_RUNS_WINDOW = timedelta(hours=24)
# No instance is older; an earlier ``since`` means "all", and the Durable client cannot write years before 1000.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
PREVIEW_CHARS = 120
# Runtime statuses as GET /api/runs/{id} names them; the others (Running) are told by the run's custom status.
RUN_STATUS = {"Pending": "pending", "Completed": "completed", "Failed": "failed", "Terminated": "canceled",
              "Canceled": "canceled"}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _newest(statuses: list[df.DurableOrchestrationStatus]) -> list[df.DurableOrchestrationStatus]:
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(statuses, key=lambda s: s.created_time or epoch, reverse=True)[:MAX_ITEMS]


def _session_row(state: dict[str, Any]) -> dict[str, Any]:
    asked = [m.get("content") for m in state["messages"] if m.get("role") == "user" and m.get("content")]
    return {"session_id": state["session_id"], "turns": state["turns"], "messages": len(state["messages"]),
            "compacted_messages": state.get("compacted_messages", 0), "summarised": bool(state.get("summary")),
            "usage": state["usage"], "created": state["created"], "updated": state["updated"],
            "queue": [entry["run_id"] for entry in state.get("queue") or []],
            "last_message": str(asked[-1])[:PREVIEW_CHARS] if asked else None}


@bp.route(route="agents/{agent}/sessions", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def list_sessions(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """An agent's sessions, most recently used first, each with its turns, usage and last message."""
    try:
        agent = get_agent(req.route_params["agent"])
        prefix = session_expiry.instance_id(agent.name, "")
        watches = _newest(await client.get_status_by(instance_id_prefix=prefix))
        states = await asyncio.gather(*(read_session(client, agent.name, w.instance_id[len(prefix):])
                                        for w in watches))
        # A watch outlives a session that was deleted; only sessions that exist are listed.
        rows = sorted((_session_row(s) for s in states if s), key=lambda r: r["updated"], reverse=True)
        return json_response({"agent": agent.name, "sessions": rows})
    except AgentError as exc:
        return error_response(exc)


def _custom(status: df.DurableOrchestrationStatus) -> dict[str, Any]:
    return status.custom_status if isinstance(status.custom_status, dict) else {}


def _run_row(status: df.DurableOrchestrationStatus) -> dict[str, Any]:
    # A list of instances carries no inputs: what a run is about comes from its custom status.
    custom = _custom(status)
    output = status.output if isinstance(status.output, dict) else {}
    runtime = status.runtime_status.value if status.runtime_status else "Pending"
    return {"run_id": status.instance_id, "agent": custom.get("agent"), "session_id": custom.get("session_id"),
            "status": RUN_STATUS.get(runtime) or custom.get("status", "running"),
            "created": _time(status.created_time), "updated": _time(status.last_updated_time),
            "steps": len(output.get("steps", custom.get("steps", []))),
            "usage": output.get("usage", custom.get("usage"))}


def _since(req: func.HttpRequest) -> datetime:
    text = req.params.get("since")
    if not text:
        return datetime.now(UTC) - DEFAULT_RUNS_WINDOW
    try:
        since = datetime.fromisoformat(text)
        since = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
    except ValueError:
        raise AgentError("InvalidParameter", f"since must be an ISO 8601 time, got {text!r}") from None
    except OverflowError:
        raise AgentError("InvalidParameter", f"since is out of range: {text!r}") from None
    return max(since, EARLIEST)


@bp.route(route="runs", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def list_runs(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Runs started since ``?since=`` (default: the last 24 hours), newest first; ``?agent=``, ``?session_id=``."""
    try:
        since = _since(req)
        wanted = {k: req.params[k] for k in ("agent", "session_id") if req.params.get(k)}
        found = await client.get_status_by(created_time_from=since)
        runs = [s for s in found if (s.name or "").lower() == RUN_ORCHESTRATOR
                and all(_custom(s).get(k) == v for k, v in wanted.items())]
        return json_response({"since": since.isoformat(), "runs": [_run_row(s) for s in _newest(runs)]})
    except AgentError as exc:
        return error_response(exc)


def _workflow_row(spec: WorkflowSpec, status: df.DurableOrchestrationStatus) -> dict[str, Any]:
    custom = _custom(status)
    output = status.output if isinstance(status.output, dict) else {}
    return {"id": status.instance_id, "pattern": spec.name,
            "status": WORKFLOW_STATUS.get(status.runtime_status.value if status.runtime_status else "Pending",
                                          "running"),
            "stage": custom.get("stage"), "runs": output.get("runs", custom.get("runs", [])),
            "created": _time(status.created_time), "updated": _time(status.last_updated_time),
            "trace_id": trace_hex(status.instance_id)}  # the trace its runs share


async def _instances(client: df.DurableOrchestrationClient, spec: WorkflowSpec) -> list[dict[str, Any]]:
    # Started through the API, a workflow's id is "{name}-{nonce}", and the runs it makes extend that id.
    found = await client.get_status_by(instance_id_prefix=f"{spec.name}-")
    return [_workflow_row(spec, s) for s in _newest([s for s in found
                                                      if (s.name or "").lower() == spec.orchestrator.lower()])]


@bp.route(route="workflows", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def list_workflows(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Every workflow (or ``?name=`` one) with the schemas of its input and events, and its instances, newest first."""
    try:
        name = req.params.get("name")
        specs = all_workflows() if not name else [get_workflow(name)]
        if None in specs:
            raise AgentError("UnknownWorkflow", f"no workflow {name!r}; see GET /api/workflows", 404)
        found = await asyncio.gather(*(_instances(client, spec) for spec in specs))
        return json_response({"workflows": [
            {"name": spec.name, "input_schema": spec.check_input.json_schema(), "events": sorted(spec.events),
             "event_schemas": {event: spec.events[event].json_schema() for event in sorted(spec.events)},
             "instances": rows}
            for spec, rows in zip(specs, found, strict=True)]})
    except AgentError as exc:
        return error_response(exc)
