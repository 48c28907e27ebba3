"""The legacy SSE transport: ``GET .../sse`` opens a session, ``POST .../message?azmcpcs=<state>`` talks to it.

The stream's first event is ``endpoint``, whose data is the relative URL to post to (``message?azmcpcs=...``, with
``&code=<key>`` when the GET carried one); then every answer is a ``message`` event, and every 25 seconds the
server sends the client a ``ping`` request, as the extension keeps a session alive. A POST is answered 202
``Accepted`` at once; requests run side by side and their answers follow on the stream, except for a request
that ``notifications/cancelled`` names before it is answered, which gets none. Sessions live in this
process only and end when their stream closes; a state of no open session is 400. Tool calls on this transport
carry the client info from the session's ``initialize``, the headers of the ``/sse`` GET, and that GET's
``Mcp-Session-Id`` as the session id (so usually none), as the extension passes them.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from . import jsonrpc
from .client_state import format_state, new_id, parse_state
from .invocation import SESSION_HEADER, SSE, Caller, request_headers
from .jsonrpc import SERVER_ERROR, BadMessage, Message
from .methods import McpServer
from .streamable import EVENT_STREAM_HEADERS, sse_event

PING_SECONDS = 25.0
STATE_QUERY = "azmcpcs"
RECONNECT = " Please connect to the /sse endpoint to initiate your session."


class SseSession:
    """One open ``/sse`` stream: the caller its messages come from, and the answers waiting to be sent."""

    def __init__(self, client_id: str, caller: Caller) -> None:
        self.client_id = client_id
        self.caller = caller
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.running: dict[str | int, asyncio.Task[None]] = {}
        self.ping_ids = itertools.count(1)

    def receive(self, message: Message, server: McpServer) -> None:
        """Start answering a request (its answer goes to the stream when it is ready), or stop answering one that
        ``notifications/cancelled`` names: that request then gets no answer."""
        if message.is_request:
            assert message.id is not None
            task = asyncio.get_running_loop().create_task(self._answer(message, server))
            self.running[message.id] = task
            task.add_done_callback(functools.partial(self._forget, message.id))
        elif message.method == "notifications/cancelled" and isinstance(message.params, dict):
            request_id = message.params.get("requestId")
            if isinstance(request_id, str | int) and request_id in self.running:
                self.running[request_id].cancel()

    def _forget(self, request_id: str | int, task: asyncio.Task[None]) -> None:
        if self.running.get(request_id) is task:
            del self.running[request_id]

    async def _answer(self, message: Message, server: McpServer) -> None:
        answer = await server.answer(message, self.caller)
        if answer is not None:
            await self.outbox.put(answer)

    async def events(self, endpoint: str) -> AsyncIterator[str]:
        yield f"event: endpoint\ndata: {endpoint}\n\n"
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + PING_SECONDS
        waiting: asyncio.Future[dict[str, Any]] | None = None
        try:
            while True:
                waiting = waiting or asyncio.ensure_future(self.outbox.get())
                done, _ = await asyncio.wait({waiting}, timeout=max(0.0, next_ping - loop.time()))
                if waiting in done:
                    message, waiting = waiting.result(), None
                else:
                    message = {"jsonrpc": "2.0", "id": next(self.ping_ids), "method": "ping"}
                    next_ping += PING_SECONDS
                yield sse_event(message)
        finally:
            if waiting is not None:
                waiting.cancel()


class LegacySse:
    """The open SSE sessions of this host instance, by client id."""

    def __init__(self, server: McpServer, instance_id: str) -> None:
        self.server = server
        self.instance_id = instance_id
        self.sessions: dict[str, SseSession] = {}

    def open(self, request: Request) -> Response:
        if request.method != "GET":
            return jsonrpc.error_response(405, SERVER_ERROR, "Method Not Allowed: open the SSE stream with GET",
                                          headers={"Allow": "GET"})
        client_id = new_id()
        endpoint = f"message?{STATE_QUERY}={format_state(client_id, self.instance_id)}"
        code = request.query_params.get("code")
        if code is None:
            code = request.headers.get("x-functions-key")
        if code is not None:
            endpoint += f"&code={quote(code, safe='')}"
        session = SseSession(client_id, Caller(SSE, request.headers.get(SESSION_HEADER), request_headers(request)))
        self.sessions[client_id] = session
        return StreamingResponse(self._stream(session, endpoint), media_type="text/event-stream",
                                 headers=EVENT_STREAM_HEADERS)

    async def _stream(self, session: SseSession, endpoint: str) -> AsyncIterator[str]:
        try:
            async for event in session.events(endpoint):
                yield event
        finally:
            self.sessions.pop(session.client_id, None)

    async def post(self, request: Request) -> Response:
        state = request.query_params.get(STATE_QUERY)
        if state is None:
            return jsonrpc.error_response(400, SERVER_ERROR, "Missing service context." + RECONNECT)
        parsed = parse_state(state)
        if parsed is None:
            return jsonrpc.error_response(400, SERVER_ERROR, "Invalid client state." + RECONNECT)
        try:
            message = jsonrpc.parse_message(await jsonrpc.read_body(request))
        except BadMessage as exc:
            return jsonrpc.error_response(exc.status, exc.code, exc.message)
        if message is None:
            return jsonrpc.error_response(400, SERVER_ERROR, "No message in request body.")
        client_id, instance_id = parsed
        session = self.sessions.get(client_id)
        if session is None:
            where = ("" if instance_id.lower() == self.instance_id
                     else " It was opened on another host instance (has devhost restarted since?).")
            return jsonrpc.error_response(400, SERVER_ERROR, f"No active session for client '{client_id}' and "
                                                             f"instance '{instance_id}'.{where}{RECONNECT}")
        session.receive(message, self.server)
        return PlainTextResponse("Accepted", status_code=202)
