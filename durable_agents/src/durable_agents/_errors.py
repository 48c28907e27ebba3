"""The agents package's one error type: every failure the HTTP API reports carries a ``code``."""

from __future__ import annotations


class AgentError(Exception):
    """An error with a stable ``code`` and the HTTP ``status`` it maps to."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
