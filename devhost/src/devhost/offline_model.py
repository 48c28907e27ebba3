"""An offline, OpenAI-compatible chat model served by devhost, for running apps with no model configured.

It is not a language model: answers are canned and deterministic, and every one says it comes from the
offline model. It follows the Chat Completions protocol closely enough to exercise an app end to end:
streaming, tool calls, and JSON that matches a ``response_format`` schema. It calls a tool when the last user
message plainly fits one: it names the tool, shares words with the tool's name and description, or holds what the
tool's parameters describe (an arithmetic expression, an email address); the arguments come from the message.
Asked what was asked before, it answers from the conversation it is sent.
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


_WORD = re.compile(r"[a-z]+")
_EXPRESSION = re.compile(r"[(\s]*-?\d+(?:\.\d+)?(?:\s*(?:\*\*|//|[-+*/%^])\s*\(*\s*-?\d+(?:\.\d+)?\s*\)*)+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ASKED_BEFORE = re.compile(r"\b(ask|asked|say|said)\b.*\b(before|earlier|previously|first)\b", re.I)
_STOP = {"the", "and", "for", "with", "that", "this", "what", "when", "who", "how", "are", "was", "you", "your",
         "please", "can", "could", "would", "about", "from", "into", "than", "then", "there", "them", "they", "its",
         "all", "any", "one", "not", "but", "use", "e.g."}


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP}


def _stems(words: set[str]) -> set[str]:
    """Words without a plural or verb ending, so that "primes" meets "prime" and "emails" meets "email"."""
    return {re.sub(r"(ing|es|s)$", "", w) or w for w in words}


def _described(tool: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(stems of the tool's name, stems of its description and its parameters' descriptions)."""
    fn = tool.get("function") or {}
    props = ((fn.get("parameters") or {}).get("properties") or {}).values()
    text = " ".join([fn.get("description") or "", *(str(p.get("description") or "") for p in props)])
    return _stems(_words(fn.get("name", "").replace("_", " "))), _stems(_words(text))


def _fit(tool: dict[str, Any], text: str) -> int:
    """How plainly ``text`` asks for ``tool``: 0 for not at all."""
    name = (tool.get("function") or {}).get("name", "")
    named, described = _described(tool)
    said = _stems(_words(text))
    score = (10 if name and name in text else 0) + 2 * len(said & named) + len(said & described)
    if _EXPRESSION.search(text) and described & {"arithmetic", "expression", "calculate", "math"}:
        score += 5
    if _EMAIL.search(text) and (named | described) & {"email", "mail", "recipient", "address"}:
        score += 5
    return score


def _choose(tools: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    """The tool the message plainly fits best (the first on a tie), if any fits well enough."""
    best, score = None, 1
    for tool in tools:
        fit = _fit(tool, text)
        if fit > score:
            best, score = tool, fit
    return best


def _arguments(tool: dict[str, Any], text: str) -> dict[str, Any]:
    """Arguments for a tool, taken from the user's words where the types and descriptions allow."""
    params = (tool.get("function") or {}).get("parameters") or {}
    name = tool["function"]["name"]
    email = _EMAIL.search(text)
    expression = _EXPRESSION.search(text)
    rest = text.split(name, 1)[-1] if name in text else text
    if email:
        rest = rest.replace(email.group(0), "")
    rest = re.sub(r"\s+", " ", rest)
    rest = re.sub(r"^\W*((send|email|mail|write|tell)\b\W*)?((to|for|of|that|saying)\b)?\W*", "", rest, flags=re.I)
    said = re.search(r"\b(saying|that)\b|:", rest)
    rest = (rest[said.end():] if said else rest).strip(" :,.?!") or text
    numbers = re.findall(r"-?\d+(?:\.\d+)?", text)
    args: dict[str, Any] = {}
    for key, sub in (params.get("properties") or {}).items():
        if key not in (params.get("required") or []):
            continue
        kind, about = sub.get("type"), f"{key} {sub.get('description') or ''}".lower()
        if kind in ("integer", "number") and numbers:
            args[key] = int(float(numbers[0])) if kind == "integer" else float(numbers[0])
        elif kind == "string" and "enum" not in sub:
            if email and re.search(r"\b(to|recipient|address|email)\b", about):
                args[key] = email.group(0)
            elif expression and re.search(r"arithmetic|expression|math", about):
                args[key] = expression.group(0).strip()
            elif re.search(r"\b(subject|title)\b", about):
                args[key] = rest[:60]
            else:
                args[key] = rest
        else:
            args[key] = _value(sub)
    return args


def _asked_before(messages: list[dict[str, Any]]) -> str:
    earlier = [m.get("content") for m in messages[:-1] if m.get("role") == "user" and isinstance(m.get("content"), str)]
    if not earlier:
        return f"{LABEL} You have not asked anything before this in our conversation."
    return f"{LABEL} Before this you asked: " + "; ".join(f'"{text[:200]}"' for text in earlier[-3:])


def _reply(body: dict[str, Any]) -> dict[str, Any]:
    """The assistant message for a request: a tool call, JSON for a schema, or canned text."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {"role": "user", "content": ""}
    content = last.get("content") if isinstance(last.get("content"), str) else json.dumps(last.get("content"))
    content = content or ""
    if last.get("role") == "user":
        tool = _choose(body.get("tools") or [], content)
        if tool is not None:
            # The id is derived from the conversation, so that the same request gets the same answer.
            digest = uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(messages, sort_keys=True)).hex[:12]
            call = {"id": f"call_{digest}", "type": "function",
                    "function": {"name": tool["function"]["name"], "arguments": json.dumps(_arguments(tool, content))}}
            return {"role": "assistant", "content": None, "tool_calls": [call]}
        if _ASKED_BEFORE.search(content):
            return {"role": "assistant", "content": _asked_before(messages)}
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
