"""The dashboard's JSON API under ``/devhost/api/``.

Instances and entities are answered by the Durable management API's own handlers (same parameters, same status
codes, same engine paths, so every action is as durable as through ``/runtime/webhooks/durabletask/``); this
module adds what a person debugging needs on top: task hubs with counts, a timeline per instance, and every
entity of a hub.
"""

from __future__ import annotations

import json
import re
from collections import Counter

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..durable.instance import TERMINAL
from ..durable.management import BadRequest, ManagementApi
from ..errors import error_response
from .timeline import timeline

_TIMELINE = re.compile(r"instances/(?P<iid>[^/]+)/timeline")


class DashboardApi:
    def __init__(self, management: ManagementApi) -> None:
        self.management = management
        self.store = management.engine.store

    async def handle(self, request: Request, path: str) -> Response:
        """Answer ``/devhost/api/{path}``."""
        try:
            hub = self.management.hub_of(request)
        except BadRequest as exc:
            return error_response(exc.status, exc.code, str(exc))
        if path == "hubs":
            return self._only_get(request) or self.hubs()
        if path in ("entities", "entities/"):
            return self._only_get(request) or self.entities(hub)
        found = _TIMELINE.fullmatch(path)
        if found:
            return self._only_get(request) or self.timeline(hub, found["iid"])
        if path in ("instances", "instances/") and request.method == "GET":
            # A person looks for what just happened: the newest instances come first here.
            try:
                return await self.management.list_instances(request, hub, newest_first=True)
            except BadRequest as exc:
                return error_response(exc.status, exc.code, str(exc))
        if path.startswith(("instances", "entities/")):
            return await self.management.handle(request, path)
        return error_response(404, "NotFound", f"no dashboard API at /devhost/api/{path}")

    @staticmethod
    def _only_get(request: Request) -> Response | None:
        if request.method != "GET":
            return error_response(405, "MethodNotAllowed", f"{request.method} is not supported here; use GET")
        return None

    def hubs(self) -> Response:
        rows = self.store.status_counts()
        counts: dict[str, Counter[str]] = {self.management.default_hub: Counter()}
        for hub, status, count in rows:
            counts.setdefault(hub, Counter())[status] = count
        return JSONResponse({"default": self.management.default_hub,
                             "hubs": [{"name": hub, "counts": dict(c)} for hub, c in sorted(counts.items())]})

    def entities(self, hub: str) -> Response:
        body = [{"name": entity.split("@", 2)[1], "key": entity.split("@", 2)[2], "lastOperationTime": updated,
                 "exists": bool(exists), "state": json.loads(state) if state else None,
                 "lastFailure": json.loads(failure) if failure else None}
                for entity, state, exists, updated, failure in self.store.list_entities(hub, "@")]
        return JSONResponse(body)

    def timeline(self, hub: str, iid: str) -> Response:
        inst = self.management.engine.instance(hub, iid)
        if inst is None:
            return error_response(404, "InstanceNotFound", f"no instance with ID '{iid}' in task hub '{hub}'")
        body = timeline(self.store.history(hub, iid), inst.status in TERMINAL)
        return JSONResponse({"instanceId": iid, "runtimeStatus": inst.status, **body})
