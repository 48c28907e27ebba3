"""The Azure Functions MCP extension's endpoint for an app's MCP tool, resource and prompt triggers.

Served at ``/runtime/webhooks/mcp`` (Streamable HTTP) and ``/runtime/webhooks/mcp/sse`` (legacy SSE) as the
extension serves them; docs/mcp.md in the repository lists the protocol facts and where they come from.
"""

from .endpoint import PATH, McpEndpoint

__all__ = ["PATH", "McpEndpoint"]
