"""The app's MCP tools, resources and prompts, read from its ``mcpToolTrigger``, ``mcpResourceTrigger`` and
``mcpPromptTrigger`` functions as the extension registers them.

Tool and prompt names and static resource URIs are matched case-insensitively; the first function to claim one
keeps it, and a later one is left out with an error in the log, as the extension's registry refuses it. A trigger
the extension would refuse (invalid ``toolProperties``, ``metadata``, schema or URI) is left out the same way.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from ..functions import Function
from . import schemas, uri_templates
from .schemas import TriggerError

log = logging.getLogger("devhost.mcp")

TOOL_TRIGGER = "mcpToolTrigger"
RESOURCE_TRIGGER = "mcpResourceTrigger"
PROMPT_TRIGGER = "mcpPromptTrigger"


def _compact(fields: dict[str, Any]) -> dict[str, Any]:
    """The protocol's objects leave out what is null."""
    return {key: value for key, value in fields.items() if value is not None}


def _flag(trigger: dict[str, Any], name: str) -> bool:
    return trigger.get(name) is True or str(trigger.get(name)).lower() == "true"


def _json_list(text: Any, what: str) -> list[Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise TriggerError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, list):
        raise TriggerError(f"{what} must be a JSON list")
    return value


@dataclass(frozen=True)
class Tool:
    """One tool trigger: what ``tools/list`` shows and what ``tools/call`` checks before calling the function."""

    function: Function
    name: str
    description: str | None
    input_schema: dict[str, Any]
    required: list[str]
    output_schema: dict[str, Any] | None
    meta: dict[str, Any] | None
    use_result_schema: bool

    @classmethod
    def from_function(cls, function: Function) -> Tool:
        trigger = function.trigger
        name = trigger.get("toolName")
        if not isinstance(name, str) or not name:
            raise TriggerError("toolName is missing")
        if _flag(trigger, "useWorkerInputSchema"):
            if not trigger.get("inputSchema"):
                raise TriggerError("useWorkerInputSchema is set but inputSchema is missing")
            input_schema = schemas.object_schema(trigger["inputSchema"], "inputSchema")
            required = schemas.required_of(input_schema)
        else:
            input_schema, required = schemas.properties_schema(trigger.get("toolProperties"))
        output = trigger.get("outputSchema")
        return cls(function=function, name=name, description=trigger.get("description"),
                   input_schema=input_schema, required=required,
                   output_schema=schemas.object_schema(output, "outputSchema") if output else None,
                   meta=schemas.metadata(trigger.get("metadata")),
                   use_result_schema=_flag(trigger, "useResultSchema"))

    def listing(self) -> dict[str, Any]:
        return _compact({"name": self.name, "description": self.description, "inputSchema": self.input_schema,
                         "outputSchema": self.output_schema, "_meta": self.meta})


@dataclass(frozen=True)
class Resource:
    """One resource trigger: a fixed URI, or a URI template that ``resources/read`` matches."""

    function: Function
    uri: str
    name: str
    title: str | None
    description: str | None
    mime_type: str | None
    size: int | None
    meta: dict[str, Any] | None
    pattern: re.Pattern[str] | None

    @classmethod
    def from_function(cls, function: Function) -> Resource:
        trigger = function.trigger
        uri, name = trigger.get("uri"), trigger.get("resourceName")
        if not isinstance(uri, str):
            raise TriggerError("uri is missing")
        uri_templates.validate(uri)
        if not isinstance(name, str) or not name:
            raise TriggerError("resourceName is missing")
        size = trigger.get("size")
        return cls(function=function, uri=uri, name=name, title=trigger.get("title"),
                   description=trigger.get("description"), mime_type=trigger.get("mimeType"),
                   size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                   meta=schemas.metadata(trigger.get("metadata")),
                   pattern=uri_templates.compile_template(uri) if uri_templates.is_template(uri) else None)

    def listing(self) -> dict[str, Any]:
        if self.pattern is not None:
            return _compact({"uriTemplate": self.uri, "name": self.name, "title": self.title,
                             "description": self.description, "mimeType": self.mime_type, "_meta": self.meta})
        return _compact({"uri": self.uri, "name": self.name, "title": self.title, "description": self.description,
                         "mimeType": self.mime_type, "size": self.size, "_meta": self.meta})


@dataclass(frozen=True)
class Prompt:
    """One prompt trigger: its declared arguments are checked before the function is called."""

    function: Function
    name: str
    title: str | None
    description: str | None
    arguments: list[dict[str, Any]] | None
    icons: list[Any] | None
    meta: dict[str, Any] | None
    use_result_schema: bool

    @classmethod
    def from_function(cls, function: Function) -> Prompt:
        trigger = function.trigger
        name = trigger.get("promptName")
        if not isinstance(name, str) or not name:
            raise TriggerError("promptName is missing")
        declared = _json_list(trigger.get("promptArguments"), "promptArguments")
        arguments = None
        if declared is not None:
            if not all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in declared):
                raise TriggerError("promptArguments must be a list of objects, each with a name")
            arguments = [_compact({"name": item["name"], "title": item.get("title"),
                                   "description": item.get("description", ""), "required": item.get("required")})
                         for item in declared]
        return cls(function=function, name=name, title=trigger.get("title"), description=trigger.get("description"),
                   arguments=arguments, icons=_json_list(trigger.get("icons"), "icons"),
                   meta=schemas.metadata(trigger.get("metadata")),
                   use_result_schema=_flag(trigger, "useResultSchema"))

    @property
    def required(self) -> list[str]:
        return [argument["name"] for argument in self.arguments or [] if argument.get("required") is True]

    def listing(self) -> dict[str, Any]:
        return _compact({"name": self.name, "title": self.title, "description": self.description,
                         "arguments": self.arguments, "icons": self.icons, "_meta": self.meta})


@dataclass
class TriggerIndex:
    """The app's MCP triggers; empty when it has none (then the extension is not loaded at all)."""

    tools: dict[str, Tool] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    templates: list[Resource] = field(default_factory=list)
    prompts: dict[str, Prompt] = field(default_factory=dict)

    @classmethod
    def build(cls, functions: list[Function]) -> TriggerIndex:
        index = cls()
        for function in functions:
            try:
                index._add(function)
            except TriggerError as exc:
                log.error("MCP function '%s' is left out: %s", function.name, exc)
        return index

    def __bool__(self) -> bool:
        return bool(self.tools or self.resources or self.templates or self.prompts)

    def _add(self, function: Function) -> None:
        if function.trigger_type == TOOL_TRIGGER:
            tool = Tool.from_function(function)
            self._claim(self.tools, tool.name.lower(), tool, f"a tool named '{tool.name}'")
        elif function.trigger_type == PROMPT_TRIGGER:
            prompt = Prompt.from_function(function)
            self._claim(self.prompts, prompt.name.lower(), prompt, f"a prompt named '{prompt.name}'")
        elif function.trigger_type == RESOURCE_TRIGGER:
            resource = Resource.from_function(function)
            if resource.pattern is None:
                self._claim(self.resources, resource.uri.lower(), resource, f"a resource with URI '{resource.uri}'")
            elif any(uri_templates.shape(t.uri) == uri_templates.shape(resource.uri) for t in self.templates):
                raise TriggerError(f"a resource template equivalent to '{resource.uri}' is already registered")
            else:
                self.templates.append(resource)

    @staticmethod
    def _claim(registry: dict[str, Any], key: str, item: Any, what: str) -> None:
        if key in registry:
            raise TriggerError(f"{what} is already registered (by '{registry[key].function.name}')")
        registry[key] = item

    def resource_for(self, uri: str) -> Resource | None:
        """The resource ``resources/read`` of ``uri`` reaches: the fixed URI first, then the first matching template."""
        found = self.resources.get(uri.lower())
        if found is not None:
            return found
        return next((t for t in self.templates if t.pattern is not None and t.pattern.fullmatch(uri)), None)
