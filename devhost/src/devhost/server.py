"""The ASGI application devhost serves: admin status, the Durable API and the app's HTTP functions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from . import http_triggers, offline_model
from .dashboard import Dashboard
from .durable import client_transport
from .durable.client_binding import WEBHOOK_PATH, client_binding
from .durable.engine import Engine
from .durable.management import ManagementApi
from .errors import error_response
from .functions import Function, FunctionIndex
from .invoker import Invoker
from .keys import Keys
from .mcp import McpEndpoint
from .routes import Route, compile_route, most_specific_first
from .sidecar.server import Sidecar
from .timer_triggers import TimerTriggers

log = logging.getLogger("devhost")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class HttpRoute:
    route: Route
    methods: frozenset[str] | None
    auth_level: str
    function: Function


class Host:
    """Everything one devhost process serves, as one ASGI app."""

    def __init__(self, *, functions: FunctionIndex, engine: Engine, invoker: Invoker,
                 hub: str, route_prefix: str, keys: Keys, enforce_auth: bool, base_url: str,
                 trusted_hosts: frozenset[str] | None = None, sidecar: Sidecar | None = None) -> None:
        self.functions = functions
        self.sidecar = sidecar
        self.trusted_hosts = trusted_hosts
        self.engine = engine
        self.invoker = invoker
        self.hub = hub
        self.keys = keys
        self.enforce_auth = enforce_auth
        self.base_url = base_url
        self.rpc_token = keys.systemKey if enforce_auth else None
        self.routes = most_specific_first([self._http_route(route_prefix, f) for f in functions.http])
        self.management = ManagementApi(engine, hub, lambda request: self.base_url,
                                        keys.systemKey if enforce_auth else None)
        self.dashboard = Dashboard(self.management)
        self.mcp = McpEndpoint(functions, invoker, self.extra_args, keys if enforce_auth else None, base_url)
        self.timers = TimerTriggers(functions.timers, invoker, self.extra_args)
        self.ready = False

    @staticmethod
    def _http_route(prefix: str, function: Function) -> tuple[Route, HttpRoute]:
        route = compile_route(prefix, function.trigger.get("route") or function.name)
        methods = function.trigger.get("methods")
        return route, HttpRoute(
            route=route,
            methods=frozenset(m.upper() for m in methods) if methods else None,
            auth_level=str(function.trigger.get("authLevel") or "function").lower(),
            function=function,
        )

    def extra_args(self, function: Function) -> dict[str, Any]:
        """Values for a function's durable client bindings (JSON strings, as the worker passes)."""
        args = {}
        for binding in function.bindings:
            if binding.get("type") == "durableClient":
                hub = binding.get("taskHub") or self.hub
                args[binding["name"]] = client_binding(
                    self.base_url, hub, self.keys.systemKey if self.enforce_auth else None, self.rpc_token
                )
        return args

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self._respond(request)
        await response(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.engine.start()
                    if self.sidecar is not None:
                        await self.sidecar.start(self.engine)
                    client_transport.install(f"{self.base_url}{WEBHOOK_PATH}/", self)
                    self.timers.start()
                    self.ready = True
                    await send({"type": "lifespan.startup.complete"})
                except Exception as exc:
                    log.exception("devhost could not start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
            elif message["type"] == "lifespan.shutdown":
                self.ready = False
                if self.sidecar is not None:
                    self.sidecar.close()  # workers may still complete what they hold while the engine stops
                await self.timers.stop()
                # The server no longer listens, so work that runs on while the engine drains reaches the engine
                # through the in-process transport alone; without it, such a call would fail and be committed.
                await self.engine.stop()
                client_transport.uninstall(f"{self.base_url}{WEBHOOK_PATH}/")
                if self.sidecar is not None:
                    await self.sidecar.stop()
                self.invoker.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _key(self, request: Request) -> str | None:
        return request.headers.get("x-functions-key") or request.query_params.get("code")

    def _untrusted(self, request: Request) -> Response | None:
        """Refuse what a web page elsewhere could make a browser send to devhost's own API, when no keys guard it.

        A page on another site may post to ``127.0.0.1`` (cross-site request forgery), or reach it under a name
        of its own that resolves there (DNS rebinding): the first carries a foreign ``Origin``, the second a
        foreign ``Host``.
        """
        if self.enforce_auth:
            return None
        host = request.headers.get("host") or ""
        if self.trusted_hosts is not None and (urlsplit("//" + host).hostname or "") not in self.trusted_hosts:
            return error_response(403, "UntrustedHost", f"devhost answers its API only to {sorted(self.trusted_hosts)}"
                                  f", not to the host name {host!r}; listen with --host 0.0.0.0 to serve others")
        origin = request.headers.get("origin")
        if request.method not in SAFE_METHODS and origin and urlsplit(origin).netloc != host:
            return error_response(403, "CrossOriginRefused", f"a page from {origin} may not change devhost's state")
        return None

    async def _respond(self, request: Request) -> Response:
        path = request.url.path
        if (path == WEBHOOK_PATH or path.startswith(WEBHOOK_PATH + "/") or self.dashboard.owns(path)
                or self.mcp.owns(path)):
            refused = self._untrusted(request)
            if refused is not None:
                return refused
        if path.rstrip("/") == "/admin/host/status":
            return JSONResponse({"state": "Running" if self.ready else "Initializing"})
        if path.startswith(offline_model.PATH + "/"):
            return await offline_model.handle(request, path[len(offline_model.PATH) + 1:])
        if path == WEBHOOK_PATH or path.startswith(WEBHOOK_PATH + "/"):
            rest = path[len(WEBHOOK_PATH) + 1:]
            if self.rpc_token and rest.startswith(f"~{self.rpc_token}/"):
                rest = rest[len(self.rpc_token) + 2:]
            elif self.enforce_auth and not self.keys.allows("system", self._key(request)):
                return error_response(401, "Unauthorized",
                                      "the Durable management API needs the system or master key "
                                      "(?code= or x-functions-key)")
            return await self.management.handle(request, rest)
        if self.mcp.owns(path):
            return await self.mcp.handle(request, self._key(request))
        if self.dashboard.owns(path):
            # The page's files hold no data; its API does, so it needs the master key when keys are enforced.
            if self.enforce_auth and "/api/" in path and not self.keys.allows("admin", self._key(request)):
                return error_response(401, "Unauthorized", "the dashboard API needs the master key "
                                      "(open the page with ?code=MASTER_KEY)")
            return await self.dashboard.handle(request, path)
        return await self._call_function(request, path)

    async def _call_function(self, request: Request, path: str) -> Response:
        wrong_method: list[str] = []
        for route, target in self.routes:
            params = route.match(path)
            if params is None:
                continue
            if target.methods is not None and request.method not in target.methods:
                wrong_method.extend(sorted(target.methods))
                continue
            if self.enforce_auth and not self.keys.allows(target.auth_level, self._key(request)):
                return error_response(401, "Unauthorized",
                                      f"'{target.function.name}' needs a {target.auth_level} key "
                                      "in the x-functions-key header or the code query parameter")
            return await http_triggers.invoke(self.invoker, target.function, request, params,
                                              self.extra_args(target.function))
        if wrong_method:
            return error_response(405, "MethodNotAllowed",
                                  f"{request.method} is not allowed on {path}; use "
                                  f"{', '.join(sorted(set(wrong_method)))}")
        return error_response(404, "NotFound", f"no function answers {request.method} {path}")
