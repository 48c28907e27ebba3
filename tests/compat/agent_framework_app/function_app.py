"""A Microsoft Agent Framework app, written as its documentation shows, that devhost must run unchanged.

``AgentFunctionApp`` registers, per agent, an HTTP route (``POST /api/agents/{name}/run``) that signals
the agent's entity (``dafx-{name}``, one instance per session) and polls its state for the answer, and the
entity itself, which runs the whole agent turn (model calls and tool calls) inside one entity operation.
The orchestration below is the framework's documented way to call an agent from an orchestrator.
"""

from __future__ import annotations

import os

import azure.durable_functions as df
from agent_framework.openai import OpenAIChatCompletionClient
from agent_framework_azurefunctions import AgentFunctionApp


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"weather-tool says: sunny in {city}"


client = OpenAIChatCompletionClient(
    model=os.environ["OPENAI_MODEL"], base_url=os.environ["OPENAI_BASE_URL"], api_key=os.environ["OPENAI_API_KEY"],
)
helper = client.as_agent(name="Helper", instructions="You are a helpful assistant.", tools=[get_weather])

# Poll the entity often, for long enough that a slow host is not mistaken for a timeout.
app = AgentFunctionApp(agents=[helper], poll_interval_seconds=0.2, max_poll_retries=300)


@app.orchestration_trigger(context_name="context")
def two_turns(context: df.DurableOrchestrationContext):
    """Two turns of one session from an orchestrator: the second must see the first."""
    agent = app.get_agent(context, "Helper")
    session = agent.create_session()
    first = yield agent.run(context.get_input()["first"], session=session)
    second = yield agent.run(context.get_input()["second"], session=session)
    return {"first": first.text, "second": second.text}
