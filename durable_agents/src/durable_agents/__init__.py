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

__all__ = ["Agent", "AgentClient", "AgentError", "AgentFunctionApp", "McpServer", "ModelOptions", "RemoteAgent",
           "Tool", "run", "tool", "workflow"]
