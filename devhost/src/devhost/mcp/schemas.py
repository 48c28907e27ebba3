"""A tool's input schema and required arguments, built from its trigger as the extension builds them.

``toolProperties`` (a JSON list of ``{propertyName, propertyType, description, isRequired, isArray,
enumValues}``, names matched case-insensitively) becomes ``{"type": "object", "properties": {...}, "required":
[...]}``: every property has its ``type`` (inside ``items`` for arrays), its ``enum`` when given and a
``description`` ("" when none); ``required`` is always there. With ``useWorkerInputSchema`` the trigger's own
``inputSchema`` is used instead, and its ``required`` list is what is checked.
"""

from __future__ import annotations

import json
from typing import Any


class TriggerError(ValueError):
    """A trigger whose declaration the extension would refuse; the function is left out."""


def _keys(item: dict[str, Any]) -> dict[str, Any]:
    return {str(key).lower(): value for key, value in item.items()}


def _type_and_enum(property_type: Any, enum_values: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": property_type}
    if enum_values:
        schema["enum"] = [str(value) for value in enum_values]
    return schema


def properties_schema(tool_properties: str | None) -> tuple[dict[str, Any], list[str]]:
    """(input schema, required property names) from a ``toolProperties`` JSON text."""
    try:
        declared = json.loads(tool_properties) if tool_properties else []
    except ValueError as exc:
        raise TriggerError(f"toolProperties is not valid JSON: {exc}") from None
    if not isinstance(declared, list) or not all(isinstance(item, dict) for item in declared):
        raise TriggerError("toolProperties must be a JSON list of objects")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for item in map(_keys, declared):
        name = item.get("propertyname")
        if not isinstance(name, str) or not name.strip():
            continue
        typed = _type_and_enum(item.get("propertytype"), item.get("enumvalues"))
        schema = {"type": "array", "items": typed} if item.get("isarray") is True else typed
        properties[name] = {**schema, "description": item.get("description") or ""}
        if item.get("isrequired") is True and name not in required:
            required.append(name)
    return {"type": "object", "properties": properties, "required": required}, required


def object_schema(text: str, what: str) -> dict[str, Any]:
    """A worker-provided tool schema, which must be a JSON object of ``"type": "object"``."""
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise TriggerError(f"{what} is not valid JSON: {exc}") from None
    if (not isinstance(schema, dict) or schema.get("type") != "object"
            or not isinstance(schema.get("properties", {}), dict)
            or not isinstance(schema.get("required", []), list)):
        raise TriggerError(f'{what} is not a valid MCP tool JSON schema: it needs "type": "object", '
                           '"properties" an object and "required" a list')
    return schema


def required_of(schema: dict[str, Any]) -> list[str]:
    return [name for name in schema.get("required", []) if isinstance(name, str)]


def metadata(text: str | None) -> dict[str, Any] | None:
    """A trigger's ``metadata`` JSON object, served as ``_meta`` (None when empty)."""
    if not text or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise TriggerError(f"metadata is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise TriggerError("metadata must be a JSON object")
    return value or None


def missing(required: list[str], arguments: dict[str, Any] | None) -> list[str]:
    """The required names with no value (absent or null) in ``arguments``."""
    return [name for name in required if (arguments or {}).get(name) is None]
