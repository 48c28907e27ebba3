"""The durable client's calls to devhost itself, answered in-process.

A ``durableClient`` binding makes the SDK call the host's Durable HTTP API at ``rpcBaseUrl`` over HTTP, as
the real worker calls the Functions host over localhost. When the host is devhost and the function runs inside
it, those calls would leave the process only to come back in: an agent run makes half a dozen of them (start,
status polls, entity reads), at about a millisecond each through sockets and the HTTP server. This module
hands each such request to devhost's own ASGI application instead: the same routing, the same management
handlers, the same status codes and bodies; only the sockets are skipped. Every other URL goes to the SDK's own
HTTP functions unchanged.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.types import ASGIApp, Message

_CLIENT_MODULE = "azure.durable_functions.models.DurableOrchestrationClient"
# rpc base URL -> (the app, the event loop it is served on)
_apps: dict[str, tuple[ASGIApp, asyncio.AbstractEventLoop]] = {}
SdkCall = Callable[..., Awaitable[list[Any]]]


def install(rpc_base_url: str, app: ASGIApp) -> None:
    """Answer the durable client's requests under ``rpc_base_url`` with ``app``, in this process.

    Call it on the event loop that serves ``app``: only calls made on that loop are answered in-process (code
    on another loop, in a thread of its own, still goes over HTTP, where the app's own server answers).
    """
    first = not _apps
    _apps[rpc_base_url] = (app, asyncio.get_running_loop())
    if first:
        module = importlib.import_module(_CLIENT_MODULE)
        module.post_async_request = _post(module.post_async_request)
        # As the SDK reads answers (aiohttp's ``json(content_type=None)``): an empty body is None; GET makes it "".
        module.get_async_request = _call(module.get_async_request, "GET", empty="")
        module.delete_async_request = _call(module.delete_async_request, "DELETE", empty=None)


def uninstall(rpc_base_url: str) -> None:
    """Stop answering ``rpc_base_url`` in-process, when the app it names stops."""
    _apps.pop(rpc_base_url, None)


def _app_for(url: str) -> ASGIApp | None:
    loop = asyncio.get_running_loop()
    return next((app for base, (app, served_on) in _apps.items() if url.startswith(base) and served_on is loop), None)


def _answer(status: int, body: bytes, empty: Any) -> list[Any]:
    text = body.decode().strip()
    return [status, json.loads(text) if text else empty]


def _post(sdk_call: SdkCall) -> SdkCall:
    async def post(url: str, data: Any = None, *args: Any, **kwargs: Any) -> list[Any]:
        app = _app_for(url)
        if app is None:
            return await sdk_call(url, data, *args, **kwargs)
        # The SDK posts with aiohttp's ``json=``: no body when there is no data.
        body = b"" if data is None else json.dumps(data).encode()
        return _answer(*await request(app, "POST", url, body), empty=None)

    return post


def _call(sdk_call: SdkCall, method: str, empty: Any) -> SdkCall:
    async def call(url: str, *args: Any, **kwargs: Any) -> list[Any]:
        app = _app_for(url)
        if app is None:
            return await sdk_call(url, *args, **kwargs)
        return _answer(*await request(app, method, url, b""), empty=empty)

    return call


async def request(app: ASGIApp, method: str, url: str, body: bytes) -> tuple[int, bytes]:
    """One HTTP request to an ASGI app without a socket: ``(status, body)``."""
    parts = urlsplit(url)
    headers = [(b"host", parts.netloc.encode()), (b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": parts.scheme,
        "path": unquote(parts.path), "raw_path": parts.path.encode(), "query_string": parts.query.encode(),
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 0),
        "server": (parts.hostname or "127.0.0.1", parts.port or 80),
    }
    sent = False
    status, chunks = 500, []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)
