"""Calling an MCP trigger function with the invocation context the extension passes to the worker.

The function's trigger argument is the context as JSON text, e.g. for a tool
``{"name", "arguments", "sessionid", "clientinfo", "transport": {"name", "sessionId", "properties": {"headers"}}}``
(null members left out; a resource gets ``uri`` instead of ``name`` and ``arguments``). It goes through the
worker's own converter for the trigger type, as does the value the function returns; the durable client
bindings the function declares get their usual values. Nothing here is durable: a call is made once, when the
request asks for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.functions import meta
from starlette.requests import Request

from ..functions import Function
from ..invoker import Invoker

STREAMABLE = "http-streamable"
SSE = "http-sse"
SESSION_HEADER = "mcp-session-id"


def request_headers(request: Request) -> dict[str, str]:
    """The request's headers, repeated ones joined with ``,`` as the extension hands them on."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


@dataclass
class Caller:
    """The client a message came from: its transport, its session and the headers of the HTTP request that
    carries the transport (the POST for Streamable HTTP, the ``/sse`` GET for SSE).

    ``client_info`` is what ``initialize`` said; a Streamable HTTP caller lives for one request, so its tool
    calls carry none, as the extension's stateless sessions do.
    """

    transport: str
    session_id: str | None
    headers: dict[str, str]
    client_info: dict[str, Any] | None = None

    def context(self, **fields: Any) -> dict[str, Any]:
        """The invocation context of a call with ``fields`` (name and arguments, or uri), null members left out."""
        transport = {"name": self.transport, "sessionId": self.session_id, "properties": {"headers": self.headers}}
        body = {**fields, "sessionid": self.session_id, "clientinfo": self.client_info,
                "transport": {k: v for k, v in transport.items() if v is not None}}
        return {k: v for k, v in body.items() if v is not None}


class TriggerCall:
    """Calls trigger functions through the invoker, with the worker's converters on the way in and out."""

    def __init__(self, invoker: Invoker, extra_args: Callable[[Function], dict[str, Any]]) -> None:
        self.invoker = invoker
        self.extra_args = extra_args

    async def __call__(self, function: Function, context: dict[str, Any]) -> Any:
        """The function's return value as the host receives it (a string, bytes, or None); exceptions propagate."""
        converter = meta.get_binding_registry().get(function.trigger_type)  # type: ignore[union-attr]
        text = json.dumps(context, separators=(",", ":"))
        value = converter.decode(meta.Datum(type="string", value=text), trigger_metadata={})
        returned = await self.invoker.call(function.user_function, function.is_async,
                                           **{function.trigger_arg: value}, **self.extra_args(function))
        datum = converter.encode(returned, expected_type=None)
        return None if datum is None else datum.value
