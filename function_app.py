"""The Functions app: the agents and workflows of agent_app on durable_agents, plus a first workflow of its own."""

import azure.functions as func

from agent_app.agents import AGENTS
from agent_app.workflows import WORKFLOWS, greeting
from durable_agents import AgentFunctionApp

app = AgentFunctionApp(agents=AGENTS, workflows=WORKFLOWS, http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(greeting.bp)
