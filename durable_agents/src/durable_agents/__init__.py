"""Durable LLM agents on Azure Functions: every model call and tool call is its own durable step.

The public surface is this list; everything else is private and may change.
"""

from ._a2a.remote import RemoteAgent
from ._agent import Agent, ModelOptions
from ._agent_calls import run
from ._app import AgentFunctionApp, workflow
from ._errors import AgentError
from ._mcp.servers import McpServer
from ._tools import Tool, tool
from .client import AgentClient

__all__ = ["Agent", "AgentClient", "AgentError", "AgentFunctionApp", "AgentWorker", "McpServer", "ModelOptions",
           "RemoteAgent", "Tool", "run", "tool", "workflow"]


def __getattr__(name: str) -> object:
    # A Functions app never loads the worker's SDK and server: they are imported when AgentWorker is first used.
    if name == "AgentWorker":
        from ._worker import AgentWorker

        return AgentWorker
    raise AttributeError(f"module 'durable_agents' has no attribute {name!r}")
