"""Declaring an MCP server whose tools an agent uses: a definition in code, with no network until a run needs it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")


@dataclass(frozen=True)
class McpServer:
    """An MCP server reached over streamable HTTP at ``url``; pass it in an agent's ``tools`` to give it its tools.

    ``headers`` go with every request (keys, tokens); they stay in code and never enter a run's durable state.
    ``tools`` takes only the tools so named (all of them when None). What is durable: a run lists the server's tools
    once, at its first model call, and journals that list with its steps, so every later step of the run (and a step
    that runs again after a crash) sees the same tools; each call is one tool step, journaled like any other. A call
    interrupted by a crash before its result was journaled is made again only when the server marks the tool
    read-only or idempotent. ``timeout_seconds`` bounds each request to the server.
    """

    name: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    tools: tuple[str, ...] | None = None
    timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"MCP server name {self.name!r}: use 1-40 lowercase letters, digits, '-' or '_'")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"MCP server {self.name}: url must be http(s)://..., got {self.url!r}")
        if self.tools is not None:
            object.__setattr__(self, "tools", _names(self.tools))
        if self.timeout_seconds <= 0:
            raise ValueError(f"MCP server {self.name}: timeout_seconds must be positive")

    def describe(self) -> dict[str, object]:
        # Not the URL: a server's key may be in it.
        return {"name": self.name, "tools": list(self.tools) if self.tools is not None else None}


def _names(tools: Iterable[str]) -> tuple[str, ...]:
    names = tuple(tools)  # a list reads naturally in a definition
    if isinstance(tools, str) or not all(isinstance(n, str) and n for n in names):
        raise TypeError(f"tools must be a list of tool names, got {tools!r}")
    return names
