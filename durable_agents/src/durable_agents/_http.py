"""The JSON edge of the app's HTTP API: one response shape, one error shape, one body reader."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from ._errors import AgentError

MAX_BODY_BYTES = 256 * 1024


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json",
                             headers=headers or {})


def error_response(error: AgentError) -> func.HttpResponse:
    """``{"error": {"code", "message"}}`` with the error's status."""
    return json_response({"error": {"code": error.code, "message": error.message}}, error.status)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_body(req: func.HttpRequest) -> dict[str, Any] | str | None:
    """The request body: a JSON object, the text of a text/plain body, or None when empty."""
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY_BYTES:
        raise AgentError("PayloadTooLarge", f"the body is over {MAX_BODY_BYTES} bytes", 413)
    if not raw.strip():
        return None
    content_type = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AgentError("InvalidEncoding", "the body must be UTF-8") from exc
    if content_type == "text/plain":
        return text
    try:
        body = json.loads(text, parse_constant=_no_constant)
        # Written out unescaped once, so that a lone surrogate (valid JSON, not Unicode text) shows itself.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise AgentError("InvalidJson", "the body's JSON is nested too deeply") from None
    except UnicodeEncodeError:
        raise AgentError("InvalidJson", "the body holds a lone surrogate (U+D800-U+DFFF), not text") from None
    except ValueError as exc:
        raise AgentError("InvalidJson", f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise AgentError("InvalidJson", "the body must be a JSON object")
    return body


def query_flag(req: func.HttpRequest, name: str) -> bool | None:
    value = req.params.get(name)
    if value is None:
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise AgentError("InvalidParameter", f"{name} must be true or false, got {value!r}")
