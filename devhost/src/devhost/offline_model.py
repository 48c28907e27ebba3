"""An offline, OpenAI-compatible chat model served by devhost, for running apps with no model configured.

It is not a language model: answers are canned and deterministic, and every one says it comes from the
offline model. It follows the Chat Completions protocol closely enough to exercise an app end to end:
streaming, tool calls (made when the last user message names a tool), and JSON that matches a
``response_format`` schema.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .errors import error_response

PATH = "/devhost/offline-model/v1"
MODEL = "devhost-offline"
LABEL = "[offline model]"


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _value(schema: dict[str, Any]) -> Any:
    """A deterministic value that matches a (simple) JSON schema."""
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {name: _value(sub) for name, sub in props.items()}
    if kind == "array":
        return [_value(schema.get("items") or {})] * int(schema.get("minItems") or 0)
    if kind == "integer":
        return int(schema.get("minimum") or 0)
    if kind == "number":
        return float(schema.get("minimum") or 0)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return f"{LABEL} text"[: schema.get("maxLength") or None]


def _arguments(tool: dict[str, Any], text: str) -> dict[str, Any]:
    """Arguments for a tool, taken from the user's words where the types allow."""
    params = (tool.get("function") or {}).get("parameters") or {}
    numbers = re.findall(r"-?\d+(?:\.\d+)?", text)
    name = tool["function"]["name"]
    rest = text.split(name, 1)[-1].strip(" :,.") or text
    args = {}
    for key, sub in (params.get("properties") or {}).items():
        if key not in (params.get("required") or []):
            continue
        kind = sub.get("type")
        if kind in ("integer", "number") and numbers:
            args[key] = int(float(numbers[0])) if kind == "integer" else float(numbers[0])
        elif kind == "string" and "enum" not in sub:
            args[key] = rest
        else:
            args[key] = _value(sub)
    return args


def _reply(body: dict[str, Any]) -> dict[str, Any]:
    """The assistant message for a request: a tool call, JSON for a schema, or canned text."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {"role": "user", "content": ""}
    content = last.get("content") if isinstance(last.get("content"), str) else json.dumps(last.get("content"))
    content = content or ""
    if last.get("role") == "user":
        for tool in body.get("tools") or []:
            name = (tool.get("function") or {}).get("name", "")
            if name and name in content:
                call = {"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                        "function": {"name": name, "arguments": json.dumps(_arguments(tool, content))}}
                return {"role": "assistant", "content": None, "tool_calls": [call]}
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return {"role": "assistant", "content": json.dumps(_value((fmt.get("json_schema") or {}).get("schema") or {}))}
    if fmt.get("type") == "json_object":
        return {"role": "assistant", "content": json.dumps({"answer": LABEL})}
    if last.get("role") == "tool":
        return {"role": "assistant", "content": f"{LABEL} The tool returned: {content}"}
    return {"role": "assistant", "content": f"{LABEL} You said: {content[:500]}"}


async def handle(request: Request, path: str) -> Response:
    """Answer ``POST {PATH}/chat/completions`` and ``GET {PATH}/models``."""
    if path == "models" and request.method == "GET":
        return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "devhost"}]})
    if path != "chat/completions" or request.method != "POST":
        return error_response(404, "NotFound", f"the offline model serves POST {PATH}/chat/completions")
    try:
        body = json.loads(await request.body())
        if not isinstance(body.get("messages"), list):
            raise ValueError("messages must be a list")
    except (ValueError, AttributeError) as exc:
        return error_response(400, "InvalidRequest", f"not a chat completions request: {exc}")
    message = _reply(body)
    prompt = _tokens(json.dumps(body["messages"]))
    completion = _tokens(message.get("content") or json.dumps(message.get("tool_calls")))
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": body.get("model") or MODEL,
            "system_fingerprint": "devhost-offline"}
    headers = {"x-devhost-offline-model": "true"}
    if not body.get("stream"):
        return JSONResponse({**base, "object": "chat.completion", "usage": usage,
                             "choices": [{"index": 0, "message": message, "finish_reason": finish}]}, headers=headers)

    async def chunks():
        def chunk(delta: dict[str, Any], reason: str | None = None, **extra: Any) -> str:
            data = {**base, "object": "chat.completion.chunk", **extra,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}
            return f"data: {json.dumps(data)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        if message.get("tool_calls"):
            calls = [{"index": i, **c} for i, c in enumerate(message["tool_calls"])]
            yield chunk({"tool_calls": calls})
        else:
            for word in re.findall(r"\S+\s*", message["content"] or ""):
                yield chunk({"content": word})
        yield chunk({}, finish)
        if (body.get("stream_options") or {}).get("include_usage"):
            yield f"data: {json.dumps({**base, 'object': 'chat.completion.chunk', 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream", headers=headers)
