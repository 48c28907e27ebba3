"""A trigger function's return value made into the protocol's result, as the extension's return binders make it.

The host receives what the worker's converter produced: a string, bytes, or nothing. Tools: without
``useResultSchema`` the value's text is one text block (bytes become ``System.Byte[]``, the text a .NET host
gives them); with it the value is a JSON envelope ``{"type", "content", "structuredContent"}``, where ``type``
``call_tool_result`` carries a whole ``CallToolResult``, ``multi_content_result`` a list of content blocks, any
other one content block. Resources: an envelope ``{"content": <ResourceContents JSON>}`` if the text is one, else
the text itself; bytes become a base64 ``blob``. Prompts: the text is one user message, or with
``useResultSchema`` an envelope of type ``get_prompt_result`` or ``prompt_messages``. A value that does not fit
raises :class:`ResultError`, which the caller reports as the function's failure.
"""

from __future__ import annotations

import base64
from typing import Any

from . import jsonrpc

_BLOCK_FIELDS = ("type", "text", "name", "data", "mimeType", "uri", "description", "size", "resource", "annotations",
                 "_meta")
_NEEDS = {"text": ("text",), "image": ("data", "mimeType"), "audio": ("data", "mimeType"), "resource": ("resource",),
          "resource_link": ("uri", "name")}


class ResultError(ValueError):
    """The function's return value is not what the trigger's return binder accepts."""


def _text(value: Any) -> str:
    return "System.Byte[]" if isinstance(value, bytes | bytearray) else str(value)


def _parse(text: Any, what: str) -> Any:
    if not isinstance(text, str):
        raise ResultError(f"{what} must be JSON text")
    try:
        return jsonrpc.loads(text)
    except ValueError as exc:
        raise ResultError(f"{what} is not valid JSON: {exc}") from None


def content_block(value: Any) -> dict[str, Any]:
    """A content block with the members the protocol knows, refused when its type's required members are absent."""
    if not isinstance(value, dict):
        raise ResultError("a content block must be a JSON object")
    kind = value.get("type")
    if kind not in _NEEDS:
        raise ResultError(f"unknown content type: {kind!r}")
    absent = [name for name in _NEEDS[kind] if value.get(name) is None]
    if absent:
        raise ResultError(f"a {kind!r} content block needs {', '.join(absent)}")
    return {name: value[name] for name in _BLOCK_FIELDS if value.get(name) is not None}


def _envelope(value: Any, name: str) -> dict[str, Any]:
    if value is None or isinstance(value, bytes | bytearray):
        raise ResultError(f"with useResultSchema the function must return a JSON {name} envelope (a string)")
    envelope = _parse(value, f"the {name} envelope")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("type"), str):
        raise ResultError(f"the {name} envelope must be a JSON object with a type")
    return {str(k).lower(): v for k, v in envelope.items()}


def tool_result(value: Any, use_result_schema: bool) -> dict[str, Any]:
    if not use_result_schema:
        return {"content": [] if value is None else [{"type": "text", "text": _text(value)}]}
    if value is None:
        return {"content": []}
    envelope = _envelope(value, "McpToolResult")
    kind = envelope["type"].lower()
    if kind == "call_tool_result":
        whole = _parse(envelope.get("content"), "the CallToolResult")
        if not isinstance(whole, dict) or not isinstance(whole.get("content", []), list):
            raise ResultError("the CallToolResult must be an object whose content is a list")
        out: dict[str, Any] = {"content": [content_block(block) for block in whole.get("content", [])]}
        for name in ("structuredContent", "isError", "_meta"):
            if whole.get(name) is not None:
                out[name] = whole[name]
        return out
    content = _parse(envelope.get("content"), "the content")
    if kind == "multi_content_result":
        if not isinstance(content, list):
            raise ResultError("a multi_content_result's content must be a list of content blocks")
        blocks = [content_block(block) for block in content]
    else:
        blocks = [content_block(content)]
    if not blocks:
        raise ResultError("no content items were produced from the McpToolResult")
    out = {"content": blocks}
    structured = envelope.get("structuredcontent")
    if structured:
        out["structuredContent"] = _parse(structured, "the structured content")
    return out


def _resource_contents(value: dict[str, Any], uri: str, mime_type: str | None) -> dict[str, Any]:
    contents = {"uri": value.get("uri") or uri, "mimeType": value.get("mimeType") or mime_type}
    if isinstance(value.get("blob"), str):
        contents["blob"] = value["blob"]
    elif isinstance(value.get("text"), str):
        contents["text"] = value["text"]
    else:
        raise ResultError("resource contents need a text or a blob")
    if value.get("_meta") is not None:
        contents["_meta"] = value["_meta"]
    return {k: v for k, v in contents.items() if v is not None}


def _resource_envelope(text: str) -> dict[str, Any] | None:
    """The contents object inside a ``{"content": "<JSON object>"}`` envelope, or None when ``text`` is none."""
    try:
        envelope = jsonrpc.loads(text)
        if not isinstance(envelope, dict):
            return None
        inner = {str(k).lower(): v for k, v in envelope.items()}.get("content")
        contents = jsonrpc.loads(inner) if isinstance(inner, str) else None
    except ValueError:
        return None
    return contents if isinstance(contents, dict) else None


def resource_result(value: Any, uri: str, mime_type: str | None) -> dict[str, Any]:
    if value is None:
        return {"contents": []}
    if isinstance(value, bytes | bytearray):
        blob = {"uri": uri, "mimeType": mime_type, "blob": base64.b64encode(value).decode("ascii")}
        return {"contents": [{k: v for k, v in blob.items() if v is not None}]}
    text = str(value)
    inner = _resource_envelope(text)
    if inner is not None:
        return {"contents": [_resource_contents(inner, uri, mime_type)]}
    plain = {"uri": uri, "mimeType": mime_type, "text": text}
    return {"contents": [{k: v for k, v in plain.items() if v is not None}]}


def _message(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or value.get("role") not in ("user", "assistant"):
        raise ResultError('a prompt message needs a role, "user" or "assistant"')
    return {"role": value["role"], "content": content_block(value.get("content"))}


def prompt_result(value: Any, use_result_schema: bool) -> dict[str, Any]:
    if value is None:
        return {"messages": []}
    if not use_result_schema:
        return {"messages": [{"role": "user", "content": {"type": "text", "text": _text(value)}}]}
    envelope = _envelope(value, "McpPromptResult")
    if envelope.get("content") is None:
        raise ResultError("McpPromptResult.Content was null")
    kind, content = envelope["type"].lower(), _parse(envelope["content"], "the prompt content")
    if kind == "get_prompt_result":
        if not isinstance(content, dict) or not isinstance(content.get("messages", []), list):
            raise ResultError("a GetPromptResult must be an object whose messages are a list")
        out: dict[str, Any] = {"messages": [_message(m) for m in content.get("messages", [])]}
        for name in ("description", "_meta"):
            if content.get(name) is not None:
                out[name] = content[name]
        return out
    if kind == "prompt_messages":
        if not isinstance(content, list):
            raise ResultError("prompt_messages content must be a list of messages")
        return {"messages": [_message(m) for m in content]}
    raise ResultError(f"unknown McpPromptResult type: {envelope['type']!r}")
