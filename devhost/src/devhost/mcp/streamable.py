"""The Streamable HTTP transport at ``/runtime/webhooks/mcp``, stateless as the extension serves it.

Only POST is served (anything else is 405), and only to a client that accepts both ``application/json`` and
``text/event-stream`` (else 406). A request is answered with a ``text/event-stream`` body holding one
``message`` event, the JSON-RPC response; a notification or a response is answered 202 with no body. An
``initialize`` sent without ``Mcp-Session-Id`` gets a new client state in that header; a later message may carry
any well-formed state (one that is not is 400 ``Invalid client state.``), since nothing is kept between requests.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from . import jsonrpc
from .client_state import format_state, new_id, parse_state
from .invocation import SESSION_HEADER, STREAMABLE, Caller, request_headers
from .jsonrpc import SERVER_ERROR, BadMessage
from .methods import McpServer

EVENT_STREAM_HEADERS = {"Cache-Control": "no-cache,no-store", "Content-Encoding": "identity"}


def sse_event(message: object) -> str:
    return f"event: message\ndata: {jsonrpc.dumps(message)}\n\n"


def _accepts(accept: str, media: str) -> bool:
    kind = media.split("/")[0]
    ranges = {part.split(";", 1)[0].strip().lower() for part in accept.split(",")}
    return bool(ranges & {media, f"{kind}/*", "*/*"})


class StreamableHttp:
    """Answers POSTed JSON-RPC messages from the MCP server, one HTTP request per message."""

    def __init__(self, server: McpServer, instance_id: str) -> None:
        self.server = server
        self.instance_id = instance_id

    async def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return jsonrpc.error_response(405, SERVER_ERROR, "Method Not Allowed: POST JSON-RPC messages here "
                                          "(Streamable HTTP, stateless); the legacy SSE transport is at .../sse",
                                          headers={"Allow": "POST"})
        accept = request.headers.get("accept", "")
        if not (_accepts(accept, "application/json") and _accepts(accept, "text/event-stream")):
            return jsonrpc.error_response(406, SERVER_ERROR, "Not Acceptable: Client must accept both "
                                                             "application/json and text/event-stream")
        state = request.headers.get(SESSION_HEADER, "")
        if state and parse_state(state) is None:
            return jsonrpc.error_response(400, SERVER_ERROR, "Invalid client state.")
        try:
            message = jsonrpc.parse_message(await jsonrpc.read_body(request))
        except BadMessage as exc:
            return jsonrpc.error_response(exc.status, exc.code, exc.message)
        if message is None:
            return jsonrpc.error_response(400, SERVER_ERROR, "Bad Request: The POST body did not contain a valid "
                                                             "JSON-RPC message.")
        if not message.is_request:
            return Response(status_code=202)
        headers = dict(EVENT_STREAM_HEADERS)
        if not state and message.method == "initialize":
            headers["Mcp-Session-Id"] = format_state(new_id(), self.instance_id)
        answer = await self.server.answer(message, Caller(STREAMABLE, state or None, request_headers(request)))
        return Response(sse_event(answer), media_type="text/event-stream", headers=headers)
