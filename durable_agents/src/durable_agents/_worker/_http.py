"""The app's HTTP API as one ASGI app, served by the same handlers as on Functions.

Each request is matched against the app's HTTP functions (route templates below the ``api`` prefix), then the
handler is called as the Functions worker calls it: a ``func.HttpRequest`` built from the request (or the starlette
``Request`` itself for handlers typed with azurefunctions-extensions-http-fastapi), and the worker's
``DurableClient`` as its durable client. The answer is normalised with azure-functions' own ``http`` converter.
Auth levels are not enforced, as under ``func start``: put the app behind your own gateway to require keys.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func
from azure.functions import meta
from starlette.requests import Request
from starlette.responses import Response

from ._client import DurableClient
from ._functions import HttpFunction
from ._routes import Route, compile_route

log = logging.getLogger("durable_agents.worker.http")
_http_converter = meta.get_binding_registry().get("http")  # type: ignore[union-attr]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps({"error": {"code": code, "message": message}}), status_code=status,
                    media_type="application/json", headers=headers)


def to_response(result: Any) -> Response:
    """What a handler returned, as the Python worker normalises it (``HttpResponse``, ``str``, a starlette one)."""
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=204)
    datum = _http_converter.encode(result, expected_type=None)
    if datum.type == "string":
        return Response(datum.value, media_type="text/plain")
    value = datum.value
    response = Response(value["body"].value or b"", status_code=int(value["status_code"].value),
                        headers={name: header.value for name, header in value["headers"].items()})
    for cookie in value.get("cookies") or []:
        for morsel in cookie.values():
            response.raw_headers.append((b"set-cookie", morsel.OutputString().encode()))
    return response


class HttpApi:
    """An ASGI app serving ``functions`` below ``/{prefix}``, with ``client()`` as every handler's durable client."""

    def __init__(self, functions: list[HttpFunction], client: Callable[[], DurableClient], prefix: str = "api") -> None:
        compiled = [(compile_route(prefix, f.route), f) for f in functions]
        self.routes: list[tuple[Route, HttpFunction]] = sorted(compiled, key=lambda item: -item[0].literal_chars)
        self.client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # nothing to set up: the worker owns the client
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        allowed: set[str] = set()
        for route, function in self.routes:
            params = route.match(request.url.path)
            if params is None:
                continue
            if request.method.upper() not in function.methods:
                allowed.update(function.methods)
                continue
            return await self._call(function, request, params)
        if allowed:
            return _error(405, "MethodNotAllowed", f"{request.method} is not allowed here",
                          {"Allow": ", ".join(sorted(allowed))})
        return _error(404, "NotFound", f"no function serves {request.url.path}")

    async def _call(self, function: HttpFunction, request: Request, params: dict[str, str]) -> Response:
        if function.wants_asgi_request:
            request.scope["path_params"] = params
            arg: Any = request
        else:
            arg = func.HttpRequest(method=request.method, url=str(request.url), headers=dict(request.headers),
                                   params=dict(request.query_params), route_params=params,
                                   body=await request.body())
        arguments = {function.request_arg: arg}
        if function.client_arg is not None:
            arguments[function.client_arg] = self.client()
        try:
            if inspect.iscoroutinefunction(function.fn):
                result = await function.fn(**arguments)
            else:  # sync handlers run in a thread, as the Python worker runs them
                result = await asyncio.to_thread(function.fn, **arguments)
            return to_response(result)
        except Exception as exc:
            log.exception("function %s failed", function.name)
            return _error(500, "FunctionFailed", f"Function '{function.name}' failed: {exc}")
