"""An app on azure-functions-durable's own OpenAI Agents integration, as the SDK's samples write one.

``@app.durable_openai_agent_orchestrator`` runs an OpenAI Agents SDK ``Runner.run_sync`` inside the
orchestrator: every model call becomes a ``run_model`` activity and ``context.create_activity_tool``
turns an activity into a tool the agent calls as its own durable step.
"""

from __future__ import annotations

import os

import azure.durable_functions as df
import azure.functions as func

# The OpenAI Agents SDK (PyPI openai-agents), not this repository's agents/ (ruff sorts it as first-party).
from agents import (
    Agent,
    Runner,
    set_default_openai_api,
    set_default_openai_client,
    set_tracing_disabled,
)
from openai import AsyncOpenAI

# Nothing may be sent anywhere but the configured model (no tracing export). OPENAI_API picks the API the
# model calls use: "chat_completions" or the SDK's default, "responses".
set_tracing_disabled(True)
set_default_openai_api(os.environ.get("OPENAI_API", "chat_completions"))
set_default_openai_client(
    AsyncOpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key=os.environ["OPENAI_API_KEY"]), use_for_tracing=False,
)
MODEL = os.environ["OPENAI_MODEL"]

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="city")
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"weather-activity says: sunny in {city}"


@app.orchestration_trigger(context_name="context")
@app.durable_openai_agent_orchestrator
def hello(context):
    agent = Agent(name="Assistant", instructions="You only respond in haikus.", model=MODEL)
    result = Runner.run_sync(agent, context.get_input()["prompt"])
    return result.final_output


@app.orchestration_trigger(context_name="context")
@app.durable_openai_agent_orchestrator
def weather(context):
    agent = Agent(name="Weather", instructions="Answer with the weather tool.", model=MODEL,
                  tools=[context.create_activity_tool(get_weather)])
    result = Runner.run_sync(agent, context.get_input()["prompt"])
    return result.final_output
