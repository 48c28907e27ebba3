"""The Durable Functions HTTP management API under ``/runtime/webhooks/durabletask/``.

Paths, query parameters and status codes follow the real extension, so that the SDK's client and
anything written against the documented API work unchanged.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..config import HUB_NAME
from ..errors import error_response
from .client_binding import WEBHOOK_PATH, management_urls
from .engine import Conflict, Engine
from .history import EventType, parse_timestamp
from .instance import TERMINAL, Instance
from .status import status_body

Handler = Callable[..., Awaitable[Response]]
log = logging.getLogger("devhost.durable")
RUNTIME_STATUSES = ("Pending", "Running", "Completed", "ContinuedAsNew", "Failed", "Terminated",
                    "Suspended")


class BadRequest(Exception):
    def __init__(self, message: str, code: str = "BadRequest", status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status


def _flag(request: Request, name: str, default: bool = False) -> bool:
    value = request.query_params.get(name)
    return default if value is None else value.strip().lower() == "true"


def _time(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return parse_timestamp(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError as exc:
        raise BadRequest(f"{name} must be an ISO 8601 time, got {value!r}") from exc


MAX_BODY_BYTES = 16 * 1024 * 1024
_LARGEST_INTEGER = 2**31 - 1


async def _json_body(request: Request) -> str | None:
    """The body as JSON text (None when empty); what is not JSON, or could not be stored, is rejected."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"the request body is over {MAX_BODY_BYTES // (1024 * 1024)} MB", "BodyTooLarge", 413)
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
        # Written out unescaped once, so that a lone surrogate (valid JSON, not Unicode text) shows itself.
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise BadRequest("the request body's JSON is nested too deeply", "InvalidJson") from None
    except UnicodeEncodeError:
        raise BadRequest("the request body holds a lone surrogate (\\ud800-\\udfff), which is not Unicode text",
                         "InvalidJson") from None
    except ValueError as exc:  # not JSON, or NaN/Infinity, which JSON does not have
        raise BadRequest(f"the request body must be JSON: {exc}", "InvalidJson") from exc
    return json.dumps(value)


def _integer(value: str | None, name: str) -> int:
    """A non-negative integer parameter (0 when absent)."""
    try:
        number = int(value or 0)
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {value!r}") from None
    if not 0 <= number <= _LARGEST_INTEGER:
        raise BadRequest(f"{name} must be between 0 and {_LARGEST_INTEGER}, got {value}")
    return number


def _operation_input(body: str | None) -> str | None:
    """An entity operation's input as JSON text, from the JSON text of a signal's body.

    The SDK's client sends the input's JSON text inside a JSON string, and the extension parses the body once,
    so that string is the input's JSON text. A body that is a JSON value of its own (what a person sends with
    curl) would fail in a Python entity in Azure; devhost passes it on as that value instead.
    """
    if body is None:
        return None
    value = json.loads(body)
    if isinstance(value, str):
        try:
            json.loads(value)
            return value
        except ValueError:
            pass
    return body


def _seconds(value: str | None) -> float | None:
    """``?timeout=``: seconds to wait for the output, checked before anything starts."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise BadRequest(f"timeout must be a number of seconds, got {value!r}") from None
    if not 0 <= seconds <= 3600:  # NaN fails this too
        raise BadRequest(f"timeout must be between 0 and 3600 seconds, got {value!r}")
    return seconds


class ManagementApi:
    """Routes and answers management calls for the engine's task hubs."""

    def __init__(self, engine: Engine, default_hub: str, base_url: Callable[[Request], str],
                 system_key: str | None) -> None:
        self.engine = engine
        self.default_hub = default_hub
        self.base_url = base_url
        self.system_key = system_key
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("POST", re.compile(r"orchestrators/(?P<name>[^/]+)(?:/(?P<iid>[^/]+))?"), self.start),
            ("GET", re.compile(r"instances/?"), self.list_instances),
            ("DELETE", re.compile(r"instances/?"), self.purge_many),
            ("GET", re.compile(r"instances/(?P<iid>[^/]+)"), self.get_status),
            ("DELETE", re.compile(r"instances/(?P<iid>[^/]+)"), self.purge_one),
            ("POST", re.compile(r"instances/(?P<iid>[^/]+)/raiseEvent/(?P<event>[^/]+)"), self.raise_event),
            ("POST", re.compile(r"instances/(?P<iid>[^/]+)/(?P<op>terminate|suspend|resume)"), self.control),
            ("POST", re.compile(r"instances/(?P<iid>[^/]+)/restart"), self.restart),
            ("POST", re.compile(r"instances/(?P<iid>[^/]+)/rewind"), self.rewind),
            ("POST", re.compile(r"entities/(?P<name>[^/]+)/(?P<key>[^/]+)"), self.signal_entity),
            ("GET", re.compile(r"entities/(?P<name>[^/]+)/(?P<key>[^/]+)"), self.entity_state),
            ("GET", re.compile(r"entities/(?P<name>[^/]+)/?"), self.list_entities),
        ]

    async def handle(self, request: Request, path: str) -> Response:
        """Answer one call; ``path`` is what follows the webhook prefix."""
        allowed = []
        for method, pattern, handler in self._routes:
            found = pattern.fullmatch(path)
            if not found:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            params = {k: unquote(v) for k, v in found.groupdict().items() if v is not None}
            try:
                return await handler(request, self.hub_of(request), **params)
            except BadRequest as exc:
                return error_response(exc.status, exc.code, str(exc))
            except Exception as exc:  # devhost's own failure: still an answer in the API's shape
                log.exception("devhost: the management API failed on %s %s", request.method, path)
                return error_response(500, "InternalError", f"devhost failed on this call: {type(exc).__name__}: {exc}")
        if allowed:
            return error_response(405, "MethodNotAllowed",
                                  f"{request.method} is not supported here; use {', '.join(allowed)}")
        return error_response(404, "NotFound", f"no management API at {WEBHOOK_PATH}/{path}")

    def hub_of(self, request: Request) -> str:
        """The task hub a call names (``taskHub=``), or the host's own."""
        hub = request.query_params.get("taskHub") or self.default_hub
        if not HUB_NAME.fullmatch(hub):
            raise BadRequest(f"taskHub {hub!r} is not a valid task hub name", "InvalidTaskHub")
        return hub

    def _instance(self, hub: str, iid: str) -> Any:
        inst = self.engine.instance(hub, iid)
        if inst is None:
            raise BadRequest(f"no instance with ID '{iid}' in task hub '{hub}'", "InstanceNotFound", 404)
        return inst

    def _payload(self, request: Request, hub: str, iid: str) -> dict[str, str]:
        return management_urls(self.base_url(request), hub, iid, self.system_key)

    # orchestrations

    async def start(self, request: Request, hub: str, name: str, iid: str | None = None) -> Response:
        function = self.engine.functions.orchestrators.get(name.lower())
        if not self.engine.accepts("orchestration", name):
            message = f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
            return error_response(400, "OrchestratorNotFound", message, ExceptionMessage=message)
        input_text = await _json_body(request)
        timeout = _seconds(request.query_params.get("timeout"))
        iid = iid or uuid.uuid4().hex
        try:
            # A name the app does not have waits for a Durable Task SDK worker that has it (devhost serves gRPC).
            await self.engine.start_instance(hub, function.durable_name() if function else name, iid, input_text,
                                             request.query_params.get("version"))
        except Conflict as exc:
            return error_response(409, "InstanceExists", str(exc))
        if timeout:
            if await self.engine.wait(hub, iid, timeout):
                inst = self._instance(hub, iid)
                return Response(inst.output or "null", status_code=200, media_type="application/json")
        payload = self._payload(request, hub, iid)
        return JSONResponse(payload, status_code=202, headers={"Location": payload["statusQueryGetUri"]})

    async def get_status(self, request: Request, hub: str, iid: str) -> Response:
        inst = self._instance(hub, iid)
        show_history = _flag(request, "showHistory")
        history = self.engine.store.history(hub, iid) if show_history else None
        body = status_body(inst, history, _flag(request, "showInput", True),
                           _flag(request, "showHistoryOutput"))
        if inst.status in ("Pending", "Running", "Suspended", "ContinuedAsNew"):
            return JSONResponse(body, status_code=202, headers={"Location": str(request.url)})
        code = 500 if inst.status == "Failed" and _flag(request, "returnInternalServerErrorOnFailure") else 200
        return JSONResponse(body, status_code=code)

    def _filters(self, request: Request) -> tuple[str, list[Any]]:
        where, args = "", []
        created_from, created_to = _time(request, "createdTimeFrom"), _time(request, "createdTimeTo")
        if created_from:
            where, args = where + " AND created >= ?", args + [created_from]
        if created_to:
            where, args = where + " AND created <= ?", args + [created_to]
        statuses = [s.strip() for s in (request.query_params.get("runtimeStatus") or "").split(",") if s.strip()]
        if statuses:
            by_lower = {s.lower(): s for s in RUNTIME_STATUSES}
            unknown = [s for s in statuses if s.lower() not in by_lower]
            if unknown:
                raise BadRequest(f"unknown runtimeStatus {unknown[0]!r}; use one of {', '.join(RUNTIME_STATUSES)}")
            where += f" AND status IN ({','.join('?' * len(statuses))})"
            args += [by_lower[s.lower()] for s in statuses]
        prefix = request.query_params.get("instanceIdPrefix")
        if prefix:
            where += " AND substr(id, 1, ?) = ?"
            args += [len(prefix), prefix]
        name = request.query_params.get("name")
        if name:
            where += " AND lower(name) = lower(?)"
            args.append(name)
        return where, args

    async def list_instances(self, request: Request, hub: str, newest_first: bool = False) -> Response:
        """One page of instance statuses, oldest first (or ``newest_first``), as filtered by the query."""
        where, args = self._filters(request)
        top = _integer(request.query_params.get("top"), "top")
        start = _integer(request.headers.get("x-ms-continuation-token"), "x-ms-continuation-token")
        # One row past the page says whether another page follows.
        rows = self.engine.store.query_instances(hub, where, args, limit=top + 1 if top else None, offset=start,
                                                 newest_first=newest_first)
        show_input = _flag(request, "showInput")
        body = [status_body(Instance.from_row(r, []), None, show_input, False) for r in rows[:top or None]]
        headers = {}
        if top and len(rows) > top:
            headers["x-ms-continuation-token"] = str(start + top)
        return JSONResponse(body, headers=headers)

    async def purge_one(self, request: Request, hub: str, iid: str) -> Response:
        inst = self._instance(hub, iid)
        if inst.status not in TERMINAL:
            return error_response(409, "InstanceRunning",
                                  f"instance '{iid}' is {inst.status}; terminate it before purging")
        deleted = await self.engine.purge(hub, [iid])
        return JSONResponse({"instancesDeleted": deleted})

    async def purge_many(self, request: Request, hub: str) -> Response:
        where, args = self._filters(request)
        if not where:
            raise BadRequest("purging by filter needs createdTimeFrom, createdTimeTo, runtimeStatus "
                             "or instanceIdPrefix")
        ids = [r["id"] for r in self.engine.store.query_instances(hub, where, args) if r["status"] in TERMINAL]
        deleted = await self.engine.purge(hub, ids)
        if not deleted:
            return error_response(404, "NothingPurged", "no finished instance matches the filter")
        return JSONResponse({"instancesDeleted": deleted})

    async def raise_event(self, request: Request, hub: str, iid: str, event: str) -> Response:
        inst = self._instance(hub, iid)
        data = await _json_body(request)
        if inst.status in TERMINAL:
            return error_response(410, "InstanceGone", f"instance '{iid}' is {inst.status}")
        await self.engine.raise_event(hub, iid, event, data)
        return Response(status_code=202)

    async def control(self, request: Request, hub: str, iid: str, op: str) -> Response:
        inst = self._instance(hub, iid)
        if inst.status in TERMINAL:
            return error_response(410, "InstanceGone", f"instance '{iid}' is {inst.status}")
        kind = {"terminate": EventType.EXECUTION_TERMINATED, "suspend": EventType.EXECUTION_SUSPENDED,
                "resume": EventType.EXECUTION_RESUMED}[op]
        await self.engine.control(hub, iid, kind, request.query_params.get("reason"))
        return Response(status_code=202)

    async def restart(self, request: Request, hub: str, iid: str) -> Response:
        inst = self._instance(hub, iid)
        new_id = uuid.uuid4().hex if _flag(request, "restartWithNewInstanceId", True) else iid
        try:
            await self.engine.start_instance(hub, inst.name, new_id, inst.input, inst.version or "")
        except Conflict as exc:
            return error_response(409, "InstanceRunning", f"{exc}; it can be restarted once it has finished")
        return JSONResponse(new_id, status_code=202,
                            headers={"Location": self._payload(request, hub, new_id)["statusQueryGetUri"]})

    async def rewind(self, request: Request, hub: str, iid: str) -> Response:
        inst = self._instance(hub, iid)
        if inst.status in ("Completed", "Terminated"):
            return error_response(410, "InstanceGone", f"instance '{iid}' is {inst.status}; only a Failed one "
                                  "can be rewound")
        try:
            await self.engine.rewind(hub, iid, request.query_params.get("reason"))
        except Conflict as exc:
            return error_response(409, "InstanceNotFailed", str(exc))
        return Response(status_code=202)

    # entities

    async def signal_entity(self, request: Request, hub: str, name: str, key: str) -> Response:
        if not self.engine.accepts("entity", name):
            return error_response(404, "EntityNotFound", f"the app has no entity function named '{name}'")
        op = request.query_params.get("op") or ""
        data = await _json_body(request)
        await self.engine.signal_entity(hub, f"@{name}@{key}", op, _operation_input(data))
        return Response(status_code=202)

    async def entity_state(self, request: Request, hub: str, name: str, key: str) -> Response:
        found = self.engine.entity_state(hub, f"@{name}@{key}")
        if found is None or not found[1]:
            return error_response(404, "EntityNotFound", f"entity @{name.lower()}@{key} does not exist")
        return Response(found[0] or "null", media_type="application/json")

    async def list_entities(self, request: Request, hub: str, name: str) -> Response:
        rows = self.engine.store.list_entities(hub, f"@{name.lower()}@")
        body = [{"entityId": {"name": e.split("@", 2)[1], "key": e.split("@", 2)[2]},
                 "lastOperationTime": updated, "state": json.loads(state) if state else None}
                for e, state, exists, updated, _ in rows if exists]
        return JSONResponse(body)


