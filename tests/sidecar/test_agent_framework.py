"""Microsoft Agent Framework's self-hosted durable agents (agent-framework-durabletask) on devhost's gRPC port.

A worker process (``agent_worker.py``) hosts the agent ``Helper`` with ``DurableAIAgentWorker``: its conversation
lives in the ``dafx-Helper`` entity, one entity per session, and each run is one entity operation in which the agent
calls the scripted model and its function tool. The test runs it with ``DurableAIAgentClient``, which signals the
entity and polls its state for the answer. Each test runs with the plain durabletask classes and with the
durabletask-azuremanaged ones built from an emulator connection string.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from agent_framework_durabletask import DurableAgentState, DurableAIAgentClient
from durabletask import client as dt_client
from durabletask.azuremanaged.client import DurableTaskSchedulerClient
from durabletask.entities import EntityInstanceId

from tests.fixtures.agent_app import model, model_server
from tests.fixtures.model_server import ModelServer, Reply
from tests.fixtures.processes import REPO, Scheduler

__all__ = ["model", "model_server"]

FORMS = ["plain", "connection-string"]
Worker = Callable[[Scheduler, str, str], subprocess.Popen[bytes]]


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def start_worker(model_server: ModelServer, marks: Path) -> Iterator[Worker]:
    """Start agent worker processes in a connection form; each is killed by its pid at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(scheduler: Scheduler, hub: str, form: str) -> subprocess.Popen[bytes]:
        mode, target = (("plain", [scheduler.address, hub]) if form == "plain"
                        else ("scheduler", [_connection_string(scheduler, hub)]))
        with open(marks / "worker.log", "ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "tests.sidecar.agent_worker", mode, *target,
                                        model_server.base_url, str(marks)], cwd=REPO, stdout=log,
                                       stderr=subprocess.STDOUT)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _connection_string(scheduler: Scheduler, hub: str) -> str:
    return f"Endpoint=http://localhost:{scheduler.port};Authentication=None;TaskHub={hub}"


def durable_client(scheduler: Scheduler, hub: str, form: str) -> dt_client.TaskHubGrpcClient:
    """The durabletask client in the test's connection form."""
    if form == "plain":
        return dt_client.TaskHubGrpcClient(host_address=scheduler.address, metadata=[("taskhub", hub)])
    settings = dict(part.split("=", 1) for part in _connection_string(scheduler, hub).split(";"))
    return DurableTaskSchedulerClient(host_address=settings["Endpoint"], taskhub=settings["TaskHub"],
                                      token_credential=None, secure_channel=False)


def agent_client(client: dt_client.TaskHubGrpcClient) -> DurableAIAgentClient:
    # Polls often, and for long enough that a devhost restart in the middle is not taken for a timeout.
    return DurableAIAgentClient(client, max_poll_retries=1200, poll_interval_seconds=0.1)


def texts(request: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, text) of every message but the system prompt that the model was sent."""
    out = []
    for message in request["body"]["messages"]:
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content)
        if message["role"] != "system":
            out.append((message["role"], content or ""))
    return out


def conversation(client: dt_client.TaskHubGrpcClient, session_key: str) -> list[tuple[str, str]]:
    """(role, text) of each message kept in the session's entity, as the framework reads its state back."""
    entity = client.get_entity(EntityInstanceId("dafx-Helper", session_key))
    assert entity is not None
    state = DurableAgentState.from_json(entity.get_state())
    return [(m.role, m.text) for entry in state.data.conversation_history for m in entry.messages if m.text]


@pytest.mark.parametrize("form", FORMS)
def test_the_agent_answers_runs_its_tool_and_keeps_the_conversation(
        form: str, scheduler: Scheduler, hub: str, model: ModelServer, start_worker: Worker, marks: Path) -> None:
    start_worker(scheduler, hub, form)
    model.call_tools(("get_weather", {"city": "Paris"}))
    model.say("It is sunny in Paris.")
    model.say("You asked about the weather in Paris.")
    with durable_client(scheduler, hub, form) as client:
        agent = agent_client(client).get_agent("Helper")
        session = agent.create_session()
        first = agent.run("weather in Paris?", session=session)
        assert first.text == "It is sunny in Paris."
        assert (marks / "tool.log").read_text() == "Paris\n"
        calls, answers = model.chat_requests()
        assert [tool["function"]["name"] for tool in calls["body"]["tools"]] == ["get_weather"]
        [tool_message] = [m for m in answers["body"]["messages"] if m["role"] == "tool"]
        assert "weather-tool says: sunny in Paris" in json.dumps(tool_message["content"])

        second = agent.run("what did I ask before?", session=session)
        assert second.text == "You asked about the weather in Paris."
        sent = texts(model.chat_requests()[-1])
        assert sent[0] == ("user", "weather in Paris?") and sent[-2:] == [
            ("assistant", "It is sunny in Paris."), ("user", "what did I ask before?")]
        assert conversation(client, session.durable_session_id.key) == [
            ("user", "weather in Paris?"), ("assistant", "It is sunny in Paris."),
            ("user", "what did I ask before?"), ("assistant", "You asked about the weather in Paris.")]

        # Another session starts empty.
        agent.run("who am I?", session=agent.create_session())
        assert texts(model.chat_requests()[-1]) == [("user", "who am I?")]


@pytest.mark.parametrize("form", FORMS)
def test_an_orchestration_runs_the_agent_twice_in_one_session(
        form: str, scheduler: Scheduler, hub: str, model: ModelServer, start_worker: Worker) -> None:
    start_worker(scheduler, hub, form)
    model.say("one")
    model.say("two")
    with durable_client(scheduler, hub, form) as client:
        iid = client.schedule_new_orchestration("two_turns", input={"first": "turn one", "second": "turn two"})
        state = client.wait_for_orchestration_completion(iid, timeout=60)
    assert state is not None and state.runtime_status == dt_client.OrchestrationStatus.COMPLETED, state
    assert state.get_output() == {"first": "one", "second": "two"}
    assert texts(model.chat_requests()[-1]) == [("user", "turn one"), ("assistant", "one"), ("user", "turn two")]


@pytest.mark.slow
@pytest.mark.parametrize("form", FORMS)
def test_kill_9_of_devhost_in_the_middle_of_a_run(form: str, crashing: Scheduler, hub: str, model: ModelServer,
                                                  start_worker: Worker) -> None:
    start_worker(crashing, hub, form)
    model.say("Hello, Ada.")
    # The run that devhost dies in: its model call is still answering when devhost goes.
    model.responder = lambda body: Reply(content="Nice to meet you, Ada.", delay=3.0)
    with durable_client(crashing, hub, form) as client:
        agent = agent_client(client).get_agent("Helper")
        session = agent.create_session()
        assert agent.run("hi", session=session).text == "Hello, Ada."
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(agent.run, "my name is Ada", session=session)
            _wait_for(lambda: len(model.chat_requests()) == 2)
            crashing.kill()
            crashing.start()  # same port, same data: the worker and the client reconnect by themselves
            answer = running.result(timeout=120)
        assert answer.text == "Nice to meet you, Ada."
        # The operation ran again from the state committed before the kill: the worker's first attempt, cut off,
        # left nothing behind, so the model was sent the same conversation both times.
        first_try, *again = model.chat_requests()[1:]
        assert again and all(texts(r) == texts(first_try) for r in again)
        assert texts(first_try) == [("user", "hi"), ("assistant", "Hello, Ada."), ("user", "my name is Ada")]

        model.responder = None
        model.say("Your name is Ada.")
        assert agent.run("what is my name?", session=session).text == "Your name is Ada."
        assert conversation(client, session.durable_session_id.key) == [
            ("user", "hi"), ("assistant", "Hello, Ada."), ("user", "my name is Ada"),
            ("assistant", "Nice to meet you, Ada."), ("user", "what is my name?"), ("assistant", "Your name is Ada.")]


def _wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
