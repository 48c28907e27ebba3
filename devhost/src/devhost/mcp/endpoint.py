"""``/runtime/webhooks/mcp``: the MCP extension's webhook, served when the app has an MCP trigger.

A path ending in ``sse`` opens a legacy SSE session, one ending in ``message`` posts to one, and anything else
under the webhook is Streamable HTTP, as the extension routes them. With keys enforced the webhook needs the
``mcp_extension`` system key or the master key (``x-functions-key`` header, else ``?code=``), as the Functions
host guards every extension webhook with the ``<extension>_extension`` key; without, it is anonymous, as under
``func start``. Nothing is durable: a session lives as long as this process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..functions import Function, FunctionIndex
from ..invoker import Invoker
from ..keys import Keys
from . import jsonrpc
from .client_state import new_id
from .invocation import TriggerCall
from .jsonrpc import SERVER_ERROR
from .methods import McpServer
from .options import server_info
from .sse import LegacySse
from .streamable import StreamableHttp
from .triggers import TriggerIndex

log = logging.getLogger("devhost.mcp")

PATH = "/runtime/webhooks/mcp"
EXTENSION = "mcp"


class McpEndpoint:
    """Routes the webhook's requests to the two transports, after the key check."""

    def __init__(self, functions: FunctionIndex, invoker: Invoker,
                 extra_args: Callable[[Function], dict[str, Any]], keys: Keys | None, base_url: str) -> None:
        self.triggers = TriggerIndex.build(functions.mcp)
        self.keys = keys
        # One instance id per process, as each host instance of the extension makes its own.
        instance_id = new_id()
        server = McpServer(self.triggers, TriggerCall(invoker, extra_args), server_info(functions.app_dir))
        self.streamable = StreamableHttp(server, instance_id)
        self.sse = LegacySse(server, instance_id)
        if self.triggers:
            log.info("MCP server endpoint: %s%s", base_url, PATH)
            log.info("MCP server legacy SSE endpoint: %s%s/sse", base_url, PATH)

    def owns(self, path: str) -> bool:
        lowered = path.lower()
        return bool(self.triggers) and (lowered == PATH or lowered.startswith(PATH + "/"))

    async def handle(self, request: Request, key: str | None) -> Response:
        if self.keys is not None and not self.keys.allows_extension(EXTENSION, key):
            # A JSON-RPC error, so that an MCP client shows why rather than a bare status.
            return jsonrpc.error_response(401, SERVER_ERROR, f"401 Unauthorized: the MCP endpoint needs the "
                                          f"{EXTENSION}_extension system key or the master key (x-functions-key "
                                          "header or ?code=); devhost keeps them in keys.json in its data directory")
        path = request.url.path.rstrip("/").lower()
        if path.endswith("sse"):
            return self.sse.open(request)
        if path.endswith("message"):
            return await self.sse.post(request)
        return await self.streamable.handle(request)
