"""JSON-RPC 2.0 messages as the MCP endpoint reads them from a POST body and writes them back.

A body is read only up to a limit, must be declared JSON, and must be one JSON-RPC object: a request (``method`` and
``id``), a notification (``method`` alone) or a response (``id`` with ``result`` or ``error``), with ``"jsonrpc":
"2.0"``. What is not is a :class:`BadMessage`, which the transports answer with a 4xx JSON-RPC error.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000  # the extension's code for transport-level refusals

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64  # the nesting the extension's JSON reader allows
_LARGEST_ID = 2**63 - 1


class RpcError(Exception):
    """A JSON-RPC error answer: ``code`` and ``message`` go to the client as they are."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BadMessage(RpcError):
    """A body that is no JSON-RPC message; ``status`` is the HTTP status it is refused with."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(code, message)
        self.status = status


@dataclass(frozen=True)
class Message:
    """One JSON-RPC message; ``id`` is None for a notification, ``method`` None for a response."""

    method: str | None
    id: str | int | None
    params: Any

    @property
    def is_request(self) -> bool:
        return self.method is not None and self.id is not None


def error(id: str | int | None, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}


def result(id: str | int, value: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id, "result": value}


def dumps(message: Any) -> str:
    """Compact JSON; ASCII-only, so that no text a function returned can make the answer unencodable."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


def error_response(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error(None, code, message), status_code=status, headers=headers)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text} is out of range")
    return number


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check(value: Any) -> None:
    """Refuse what JSON allows but a message must not hold: nesting past MAX_DEPTH and lone surrogates."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ValueError(f"it is nested deeper than {MAX_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("it holds a lone surrogate (\\ud800-\\udfff), which is not Unicode text") from None


def loads(raw: bytes | str) -> Any:
    """Strict JSON: no NaN or Infinity, no numbers out of range, no lone surrogates, bounded nesting."""
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    try:
        value = json.loads(text, parse_float=_finite, parse_constant=_no_constants)
    except RecursionError:
        raise ValueError(f"it is nested deeper than {MAX_DEPTH} levels") from None
    _check(value)
    return value


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def read_body(request: Request) -> bytes:
    """The body, refused when it is not declared JSON or is larger than MAX_BODY_BYTES."""
    if not _is_json(request.headers.get("content-type", "")):
        raise BadMessage(SERVER_ERROR, "Unsupported Media Type: POST the JSON-RPC message with "
                                       "Content-Type: application/json", 415)
    declared = request.headers.get("content-length", "")
    too_large = BadMessage(SERVER_ERROR, f"Payload Too Large: a message may have at most {MAX_BODY_BYTES} bytes", 413)
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _request_id(value: Any) -> str | int:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)
                                  and -_LARGEST_ID - 1 <= value <= _LARGEST_ID):
        return value
    raise BadMessage(INVALID_REQUEST, "Invalid Request: a message's id must be a string or an integer")


def parse_message(raw: bytes) -> Message | None:
    """The JSON-RPC message in ``raw``; None for a body that is JSON ``null``, as the extension reads it."""
    try:
        value = loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadMessage(PARSE_ERROR, f"Parse error: the body is not valid JSON: {exc}") from None
    if value is None:
        return None
    if isinstance(value, list):
        raise BadMessage(INVALID_REQUEST, "Invalid Request: JSON-RPC batches are not supported; send one message "
                                          "per POST")
    if not isinstance(value, dict):
        raise BadMessage(INVALID_REQUEST, "Invalid Request: a JSON-RPC message is a JSON object")
    if value.get("jsonrpc") != "2.0":
        raise BadMessage(INVALID_REQUEST, 'Invalid Request: a JSON-RPC message needs "jsonrpc": "2.0"')
    has_id, has_method = "id" in value, "method" in value
    if has_method and not isinstance(value["method"], str):
        raise BadMessage(INVALID_REQUEST, "Invalid Request: a message's method must be a string")
    if has_method:
        return Message(value["method"], _request_id(value["id"]) if has_id else None, value.get("params"))
    if has_id and ("result" in value or "error" in value):
        return Message(None, _request_id(value["id"]), value.get("result", value.get("error")))
    raise BadMessage(INVALID_REQUEST, "Invalid Request: a message needs a method (request or notification), or an id "
                                      "with a result or an error (response)")
