"""The one JSON error shape every devhost endpoint answers with."""

from __future__ import annotations

from starlette.responses import JSONResponse


def error_response(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    """``{"error": {"code", "message"}}`` with ``status``; ``extra`` keys sit beside ``error``."""
    return JSONResponse({"error": {"code": code, "message": message}, **extra}, status_code=status)
