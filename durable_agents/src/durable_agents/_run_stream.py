"""``GET /api/runs/{run_id}/stream``: a run's events as Server-Sent Events, or a JSON long-poll.

SSE: ``id:`` is the cursor, ``event:`` the type; resume with the ``Last-Event-ID`` header or ``?cursor=``. A
comment line is sent every few seconds while idle, and the response ends after ``done`` or ``error``. With
``Accept: application/json`` the same endpoint answers ``{"events", "cursor", "done"}`` after waiting up to
``?wait=`` seconds for the first new event. Built on azurefunctions-extensions-http-fastapi so it streams in
Azure as it does under devhost.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azurefunctions.extensions.http.fastapi import JSONResponse, Request, StreamingResponse

from ._agent_run import CANCELED_MESSAGE, ORCHESTRATOR
from ._errors import AgentError
from ._streams import FINAL_TYPES, Entry, StreamStore, open_store

HEARTBEAT_SECONDS = 5.0
MAX_WAIT_SECONDS = 30.0
ENDED = {"Completed": "the run completed", "Failed": "the run failed", "Terminated": CANCELED_MESSAGE,
         "Canceled": CANCELED_MESSAGE}

bp = df.Blueprint()


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _wire(entry: Entry) -> dict[str, Any]:
    return {"id": entry.cursor, "type": entry.event["type"], "step": entry.event.get("step"),
            "data": entry.event.get("data")}


async def _ended(client: df.DurableOrchestrationClient, store: StreamStore, run_id: str) -> bool:
    """When a run ended without a final event (e.g. canceled), add one so readers stop waiting."""
    status = await client.get_status(run_id)
    runtime = status.runtime_status.value if status and status.runtime_status else None
    if runtime not in ENDED:
        return False
    await store.end(run_id, ENDED[runtime])
    return True


async def _sse(client: df.DurableOrchestrationClient, store: StreamStore, run_id: str,
               cursor: str | None) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"
    block = 0.0  # a reader resuming past the final event is answered at once, not after a heartbeat
    while True:
        entries = await store.read(run_id, cursor, block=block)
        block = HEARTBEAT_SECONDS
        if not entries and await _ended(client, store, run_id):
            entries = await store.read(run_id, cursor, 0)
            if not entries:
                return
        if not entries:
            yield ": keep-alive\n\n"
            continue
        for entry in entries:
            cursor = entry.cursor
            yield f"id: {entry.cursor}\nevent: {entry.event['type']}\ndata: {json.dumps(_wire(entry))}\n\n"
            if entry.event["type"] in FINAL_TYPES:
                return


@bp.route(route="runs/{run_id}/stream", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def run_stream(req: Request, client: df.DurableOrchestrationClient) -> StreamingResponse:
    """Follow a run's stream (SSE), or poll it (JSON)."""
    run_id = req.path_params["run_id"]
    cursor = req.headers.get("last-event-id") or req.query_params.get("cursor") or None
    status = await client.get_status(run_id)
    if not status or (status.name or "").lower() != ORCHESTRATOR:
        return _error(404, "RunNotFound", f"no run with id {run_id!r}")
    try:
        store = open_store()
    except AgentError as exc:
        return _error(exc.status, exc.code, exc.message)
    try:
        await store.read(run_id, cursor, 0, limit=1)
    except ValueError as exc:
        return _error(400, "InvalidCursor", str(exc))
    if "application/json" in (req.headers.get("accept") or ""):
        try:
            wait = float(req.query_params.get("wait") or 0)
        except ValueError:
            return _error(400, "InvalidWait", "wait must be a number of seconds")
        if not 0 <= wait <= MAX_WAIT_SECONDS:
            return _error(400, "InvalidWait", f"wait must be between 0 and {MAX_WAIT_SECONDS} seconds")
        entries = await store.read(run_id, cursor, block=wait)
        ended = not entries and await _ended(client, store, run_id)
        if ended:
            entries = await store.read(run_id, cursor, 0)
        # Past the final event nothing more will come: say so, or a poller would poll forever.
        done = (ended and not entries) or any(e.event["type"] in FINAL_TYPES for e in entries)
        return JSONResponse({"events": [_wire(e) for e in entries],
                             "cursor": entries[-1].cursor if entries else cursor, "done": done})
    return StreamingResponse(_sse(client, store, run_id, cursor), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
