"""Defining an agent: a name, what it is for, its instructions, its tools and model options."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ._mcp.servers import McpServer
from ._tools import Tool

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")


@dataclass(frozen=True)
class ModelOptions:
    """Options passed to every model call of an agent (None leaves the server's default)."""

    temperature: float | None = None
    max_tokens: int | None = None

    def as_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in (("temperature", self.temperature), ("max_tokens", self.max_tokens))
                if v is not None}


@dataclass(frozen=True)
class Agent:
    """An agent definition: a name, what it is for, its instructions, its tools and model options.

    ``tools`` takes ``Tool`` definitions and ``McpServer`` declarations (whose tools the agent may call too); once
    defined, ``tools`` holds the former and ``mcp_servers`` the latter.

    Definitions are code, not durable state: a run uses the definition deployed when each of its steps runs. The
    run limits (``max_steps`` model calls per run, ``approval_timeout_seconds`` for a person to decide a tool call,
    ``session_token_budget`` before old turns are summarised) default to the settings ``AGENT_MAX_STEPS``,
    ``APPROVAL_TIMEOUT_SECONDS`` and ``SESSION_TOKEN_BUDGET``; they are fixed when a run starts.
    """

    name: str
    description: str
    instructions: str
    tools: tuple[Tool | McpServer, ...] = field(default=())
    model: ModelOptions = field(default_factory=ModelOptions)
    max_steps: int | None = None
    approval_timeout_seconds: float | None = None
    session_token_budget: int | None = None
    mcp_servers: tuple[McpServer, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        declared = tuple(self.tools)  # a list reads naturally in a definition
        strangers = [t for t in declared if not isinstance(t, Tool | McpServer)]
        if strangers:
            raise TypeError(f"agent {self.name}: tools must be Tool (@tool) or McpServer definitions, got {strangers}")
        object.__setattr__(self, "tools", tuple(t for t in declared if isinstance(t, Tool)))
        object.__setattr__(self, "mcp_servers", tuple(t for t in declared if isinstance(t, McpServer)))
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"agent name {self.name!r}: use 1-40 lowercase letters, digits, '-' or '_'")
        names = [t.name for t in self.tools] + [n for s in self.mcp_servers for n in s.tools or ()]
        if len(names) != len(set(names)):
            raise ValueError(f"agent {self.name}: tool names must be unique, got {names}")
        servers = [s.name for s in self.mcp_servers]
        if len(servers) != len(set(servers)):
            raise ValueError(f"agent {self.name}: MCP server names must be unique, got {servers}")

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)

    def describe(self) -> dict[str, Any]:
        described = {"name": self.name, "description": self.description, "tools": [t.describe() for t in self.tools]}
        if self.mcp_servers:
            described["mcp_servers"] = [s.describe() for s in self.mcp_servers]
        return described
