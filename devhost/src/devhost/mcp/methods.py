"""The MCP methods the extension's server answers, whatever transport a message came on.

``initialize`` (the client's protocol version when it is one of 2024-11-05, 2025-03-26, 2025-06-18, else
2025-06-18; capabilities ``logging``, ``prompts``, ``resources``, ``tools``), ``ping``, ``logging/setLevel``,
``tools/list``, ``tools/call``, ``resources/list``, ``resources/templates/list``, ``resources/read``,
``resources/subscribe``/``unsubscribe``, ``prompts/list``, ``prompts/get``; any other method is ``-32601``.
Notifications and responses get no answer.

A tool function that raises (or returns what its return binder refuses) is a tool result with ``isError``:
``An error occurred invoking '<tool>'.``; a resource or prompt function that does is the JSON-RPC error
``-32603 An error occurred.``. An unknown tool, prompt or resource, or a missing required argument, is ``-32602``.
Nothing is kept between messages except the client info ``initialize`` gave the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..functions import Function
from . import jsonrpc, results, schemas, uri_templates
from .invocation import Caller, TriggerCall
from .jsonrpc import INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, Message, RpcError
from .schemas import TriggerError
from .triggers import TriggerIndex

log = logging.getLogger("devhost.mcp")

PROTOCOL_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18")
CAPABILITIES = {"logging": {}, "prompts": {}, "resources": {}, "tools": {}}
LOG_LEVELS = frozenset({"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"})
_IMPLEMENTATION_FIELDS = ("name", "title", "version", "icons", "websiteUrl")

Handler = Callable[[dict[str, Any], Caller], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class ServerInfo:
    """What ``initialize`` names: host.json ``extensions.mcp`` ``serverName``, ``serverVersion``, ``instructions``."""

    name: str = "Azure Functions MCP server"
    version: str = "1.0.0"
    instructions: str | None = None


def _string(params: dict[str, Any], name: str, method: str) -> str:
    value = params.get(name)
    if not isinstance(value, str):
        raise RpcError(INVALID_PARAMS, f"{method} needs params.{name}, a string")
    return value


def _arguments(params: dict[str, Any], method: str) -> dict[str, Any] | None:
    arguments = params.get("arguments")
    if arguments is not None and not isinstance(arguments, dict):
        raise RpcError(INVALID_PARAMS, f"{method}: params.arguments must be an object")
    return arguments


class McpServer:
    """Answers JSON-RPC messages from the app's MCP triggers."""

    def __init__(self, triggers: TriggerIndex, call: TriggerCall, info: ServerInfo) -> None:
        self.triggers = triggers
        self.call = call
        self.info = info
        self.methods: dict[str, Handler] = {
            "initialize": self._initialize,
            "ping": self._nothing,
            "logging/setLevel": self._set_level,
            "tools/list": self._list_tools,
            "tools/call": self._call_tool,
            "resources/list": self._list_resources,
            "resources/templates/list": self._list_templates,
            "resources/read": self._read_resource,
            "resources/subscribe": self._nothing,
            "resources/unsubscribe": self._nothing,
            "prompts/list": self._list_prompts,
            "prompts/get": self._get_prompt,
        }

    async def answer(self, message: Message, caller: Caller) -> dict[str, Any] | None:
        """The response to a request (a result or a JSON-RPC error), None for anything else; never raises."""
        if not message.is_request:
            return None
        assert message.id is not None and message.method is not None
        try:
            handler = self.methods.get(message.method)
            if handler is None:
                raise RpcError(METHOD_NOT_FOUND, f"Method '{message.method}' is not available.")
            if message.params is not None and not isinstance(message.params, dict):
                raise RpcError(INVALID_PARAMS, f"{message.method}: params must be an object")
            if message.method == "initialize" and message.params is None:
                # The SDK reads no params as no requested version and no client info, not as an error.
                caller.client_info = None
                return jsonrpc.result(message.id, self._initialized(None))
            return jsonrpc.result(message.id, await handler(message.params or {}, caller))
        except RpcError as exc:
            return jsonrpc.error(message.id, exc.code, exc.message)
        except Exception:
            log.exception("MCP request %s failed", message.method)
            return jsonrpc.error(message.id, INTERNAL_ERROR, "An error occurred.")

    async def _nothing(self, params: dict[str, Any], caller: Caller) -> dict[str, Any]:
        return {}

    def _initialized(self, requested: str | None) -> dict[str, Any]:
        version = requested if requested in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[-1]
        body = {"protocolVersion": version, "capabilities": CAPABILITIES,
                "serverInfo": {"name": self.info.name, "version": self.info.version},
                "instructions": self.info.instructions}
        return {k: v for k, v in body.items() if v is not None}

    async def _initialize(self, params: dict[str, Any], caller: Caller) -> dict[str, Any]:
        version = _string(params, "protocolVersion", "initialize")
        client = params.get("clientInfo")
        if not (isinstance(client, dict) and isinstance(client.get("name"), str)
                and isinstance(client.get("version"), str)):
            raise RpcError(INVALID_PARAMS, "initialize needs params.clientInfo with a name and a version")
        if params.get("capabilities") is not None and not isinstance(params["capabilities"], dict):
            raise RpcError(INVALID_PARAMS, "initialize: params.capabilities must be an object")
        caller.client_info = {k: client[k] for k in _IMPLEMENTATION_FIELDS if client.get(k) is not None}
        return self._initialized(version)

    async def _set_level(self, params: dict[str, Any], caller: Caller) -> dict[str, Any]:
        if params.get("level") not in LOG_LEVELS:
            raise RpcError(INVALID_PARAMS, f"logging/setLevel needs params.level, one of {sorted(LOG_LEVELS)}")
        return {}

    async def _list_tools(self, params: dict[str, Any], caller: Caller) -> dict[str, Any]:
        return {"tools": [tool.listing() for tool in self.triggers.tools.values()]}

    @staticmethod
    def _named(params: dict[str, Any], method: str, registry: dict[str, Any], kind: str,
               members: str) -> tuple[str, dict[str, Any] | None, Any]:
        """(name, arguments, tool or prompt) of a call; refused when the name is unknown or a required member has
        no value, before any function runs."""
        name = _string(params, "name", method)
        arguments = _arguments(params, method)
        found = registry.get(name.lower())
        if found is None:
            raise RpcError(INVALID_PARAMS, f"Unknown {kind}: '{name}'")
        absent = schemas.missing(found.required, arguments)
        if absent:
            raise RpcError(INVALID_PARAMS, f"One or more required {kind} {members} are missing values. "
                                           f"Please provide: {', '.join(absent)}")
        return name, arguments, found

    async def _call_tool(self, params: dict[str, Any], caller: Caller) -> dict[str, Any]:
        name, arguments, tool = self._named(params, "tools/call", self.triggers.tools, "tool", "properties")
        try:
            value = await self.call(tool.function, caller.context(name=name, arguments=arguments))
            return results.tool_result(value, tool.use_result_schema)
        except Exception:
            log.exception("MCP tool '%s' (function %s) failed", name, tool.function.name)
            return {"content": [{"type": "text", "text": f"An error occurred invoking '{name}'."}], "isError": True}

    async def _list_resources(self, params: dict[str, Any], caller: Caller) -> dict[str, Any]:
        return {"resources": [resource.listing() for resource in self.triggers.resources.values()]}

    async def _list_templates(self, params: dict[str, Any], caller: Caller) -> dict[str, Any]:
        return {"resourceTemplates": [template.listing() for template in self.triggers.templates]}

    async def _read_resource(self, params: dict[str, Any], caller: Caller) -> dict[str, Any]:
        uri = _string(params, "uri", "resources/read")
        try:
            uri_templates.validate(uri)
        except TriggerError as exc:
            raise RpcError(INVALID_PARAMS, str(exc)) from None
        resource = self.triggers.resource_for(uri)
        if resource is None:
            raise RpcError(INVALID_PARAMS, f"Unknown resource: '{uri}'")
        value = await self._call_or_internal(resource.function, caller.context(uri=uri))
        return self._or_internal(results.resource_result, value, uri, resource.mime_type)

    async def _list_prompts(self, params: dict[str, Any], caller: Caller) -> dict[str, Any]:
        return {"prompts": [prompt.listing() for prompt in self.triggers.prompts.values()]}

    async def _get_prompt(self, params: dict[str, Any], caller: Caller) -> dict[str, Any]:
        name, arguments, prompt = self._named(params, "prompts/get", self.triggers.prompts, "prompt", "arguments")
        value = await self._call_or_internal(prompt.function, caller.context(name=name, arguments=arguments))
        return self._or_internal(results.prompt_result, value, prompt.use_result_schema)

    async def _call_or_internal(self, function: Function, context: dict[str, Any]) -> Any:
        try:
            return await self.call(function, context)
        except Exception:
            log.exception("MCP function %s failed", function.name)
            raise RpcError(INTERNAL_ERROR, "An error occurred.") from None

    @staticmethod
    def _or_internal(make: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        try:
            return make(*args)
        except results.ResultError as exc:
            log.error("an MCP function's return value was refused: %s", exc)
            raise RpcError(INTERNAL_ERROR, "An error occurred.") from None
