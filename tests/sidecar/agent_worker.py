"""Microsoft Agent Framework's self-hosted durable agent worker, in a process of its own, on devhost's gRPC port.

``python -m tests.sidecar.agent_worker plain ADDRESS HUB MODEL_URL MARKS``: a plain ``TaskHubGrpcWorker`` with the
task hub as ``taskhub`` metadata.
``python -m tests.sidecar.agent_worker scheduler CONNECTION_STRING MODEL_URL MARKS``: a ``DurableTaskSchedulerWorker``
from an emulator connection string (``Endpoint=http://localhost:N;Authentication=None;TaskHub=...``), split as code
written for the Durable Task Scheduler emulator splits it.

Either way ``DurableAIAgentWorker`` registers the agent ``Helper`` (entity ``dafx-Helper``), whose chat client is
Agent Framework's OpenAI chat client pointed at MODEL_URL and whose function tool ``get_weather`` appends the city to
``MARKS/tool.log``, and the orchestrator ``two_turns``, which runs the agent twice in one session from an
orchestration. The worker runs until it is killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from agent_framework.openai import OpenAIChatCompletionClient
from agent_framework_durabletask import DurableAIAgentOrchestrationContext, DurableAIAgentWorker
from durabletask import task
from durabletask.azuremanaged.worker import DurableTaskSchedulerWorker
from durabletask.grpc_options import GrpcWorkerResiliencyOptions
from durabletask.worker import TaskHubGrpcWorker

MODE = sys.argv[1]
MODEL_URL, MARKS = sys.argv[-2:]
# Reconnects quickly after devhost restarts (the SDK backs off up to 30 s by default).
RESILIENCY = GrpcWorkerResiliencyOptions(reconnect_backoff_cap_seconds=1.0)


def get_weather(city: str) -> str:
    """The weather in a city."""
    with (Path(MARKS) / "tool.log").open("a") as log:
        log.write(f"{city}\n")
    return f"weather-tool says: sunny in {city}"


def two_turns(context: task.OrchestrationContext, turns: dict[str, str]) -> Any:
    """Two turns of one session from an orchestration: the second must see the first."""
    agent = DurableAIAgentOrchestrationContext(context).get_agent("Helper")
    session = agent.create_session()
    first = yield agent.run(turns["first"], session=session)
    second = yield agent.run(turns["second"], session=session)
    return {"first": first.text, "second": second.text}


def connection_settings(connection_string: str) -> dict[str, str]:
    """``Endpoint=...;Authentication=None;TaskHub=...`` as a dict of its parts."""
    return dict(part.split("=", 1) for part in connection_string.split(";") if part)


def new_worker() -> TaskHubGrpcWorker:
    if MODE == "plain":
        address, hub = sys.argv[2:4]
        return TaskHubGrpcWorker(host_address=address, metadata=[("taskhub", hub)], resiliency_options=RESILIENCY)
    settings = connection_settings(sys.argv[2])
    endpoint = settings["Endpoint"]
    return DurableTaskSchedulerWorker(host_address=endpoint, taskhub=settings["TaskHub"], token_credential=None,
                                      secure_channel=not endpoint.startswith("http://"),
                                      resiliency_options=RESILIENCY)


if __name__ == "__main__":
    worker = new_worker()
    chat = OpenAIChatCompletionClient(model="scripted-model", base_url=MODEL_URL, api_key="test-key")
    agents = DurableAIAgentWorker(worker)
    agents.add_agent(chat.as_agent(name="Helper", instructions="You are a helpful assistant.", tools=[get_weather]))
    worker.add_orchestrator(two_turns)
    agents.start()
    while True:
        time.sleep(3600)
