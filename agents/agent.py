"""Defining an agent: a name, what it is for, its instructions, its tools and model options."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .tools import Tool

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
    """An agent definition. Definitions are code: a run uses the definition deployed when it runs."""

    name: str
    description: str
    instructions: str
    tools: tuple[Tool, ...] = field(default=())
    model: ModelOptions = field(default_factory=ModelOptions)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"agent name {self.name!r}: use 1-40 lowercase letters, digits, '-' or '_'")
        names = [t.name for t in self.tools]
        if len(names) != len(set(names)):
            raise ValueError(f"agent {self.name}: tool names must be unique, got {names}")

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "tools": [t.describe() for t in self.tools]}
