"""A Microsoft Agent Framework app that exposes its agent as an MCP tool, as the framework's documentation shows.

``AgentFunctionApp(..., enable_mcp_tool_trigger=True)`` registers, per agent, an ``mcpToolTrigger`` function
(``mcptool-{name}``, tool name = agent name, properties ``query`` and ``sessionId``) that signals the agent's
entity and polls its state for the answer, through a durable client binding. In Azure the MCP extension serves
it at ``/runtime/webhooks/mcp``; devhost must serve it there unchanged.
"""

from __future__ import annotations

import os

from agent_framework.openai import OpenAIChatCompletionClient
from agent_framework_azurefunctions import AgentFunctionApp

client = OpenAIChatCompletionClient(
    model=os.environ["OPENAI_MODEL"], base_url=os.environ["OPENAI_BASE_URL"], api_key=os.environ["OPENAI_API_KEY"],
)
helper = client.as_agent(name="Helper", description="Answers questions helpfully.",
                         instructions="You are a helpful assistant.")

app = AgentFunctionApp(agents=[helper], enable_mcp_tool_trigger=True, poll_interval_seconds=0.2,
                       max_poll_retries=300)
