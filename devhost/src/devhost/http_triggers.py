"""Calling the app's HTTP-triggered functions, classic or FastAPI-typed, from an ASGI request."""

from __future__ import annotations

import inspect
import logging
import typing
from typing import Any

import azure.functions as func
from azure.functions import meta
from starlette.requests import Request
from starlette.responses import Response

from .errors import error_response
from .functions import Function
from .invoker import Invoker

log = logging.getLogger("devhost.http")
_http_converter = meta.get_binding_registry().get("http")  # type: ignore[union-attr]


def wants_asgi_request(function: Function) -> bool:
    """Functions typed with azurefunctions-extensions-http-fastapi take a starlette Request."""
    target = inspect.unwrap(function.user_function)
    try:
        # get_type_hints resolves string annotations (``from __future__ import annotations``), as the worker does.
        annotation = typing.get_type_hints(target).get(function.trigger_arg)
    except Exception:  # an annotation that does not resolve is not a Request
        return False
    return inspect.isclass(annotation) and issubclass(annotation, Request)


async def invoke(
    invoker: Invoker,
    function: Function,
    request: Request,
    route_params: dict[str, str],
    extra_args: dict[str, Any],
) -> Response:
    """Run one HTTP function; a failure becomes a 500 JSON error, never a crash of the host."""
    if wants_asgi_request(function):
        request.scope["path_params"] = route_params
        arg: Any = request
    else:
        body = await request.body()
        arg = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query_params),
            route_params=route_params,
            body=body,
        )
    try:
        result = await invoker.call(
            function.user_function, function.is_async, **{function.trigger_arg: arg}, **extra_args
        )
        return to_response(result)
    except Exception as exc:
        log.exception("function %s failed", function.name)
        return error_response(500, "FunctionFailed", f"Function '{function.name}' failed: {exc}")


def to_response(result: Any) -> Response:
    """Normalise what a function returned, with the worker's own ``http`` converter."""
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=204)
    datum = _http_converter.encode(result, expected_type=None)
    if datum.type == "string":
        return Response(datum.value, status_code=200, media_type="text/plain")
    value = datum.value
    headers = {name: h.value for name, h in value["headers"].items()}
    response = Response(value["body"].value or b"", status_code=int(value["status_code"].value),
                        headers=headers)
    for cookie in value.get("cookies") or []:
        for morsel in cookie.values():
            response.raw_headers.append((b"set-cookie", morsel.OutputString().encode()))
    return response
