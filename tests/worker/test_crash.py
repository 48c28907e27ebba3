"""kill -9 of the worker in the middle of a run: started again, it finishes the run and repeats no finished step."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_app.agents import AGENTS
from agent_app.workflows import WORKFLOWS
from durable_agents import AgentWorker
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Scheduler

from .conftest import Deployment, deploy

ANSWER = "12*31 is 372, as calculate says."


@pytest.fixture
def crashing(scheduler: Scheduler, model_server: ModelServer, tmp_path: Path) -> Iterator[Deployment]:
    """A hub of its own: the worker of this test is the only one on it."""
    yield from deploy(scheduler, model_server, tmp_path)


@pytest.mark.slow
def test_kill_9_mid_run_then_start_again_finishes_without_repeating_finished_steps(
        crashing: Deployment, model: ModelServer) -> None:
    model.call_tools(("calculate", {"expression": "12*31"}))
    model.say("12*31 is 372, as calculate says, and here is a long explanation of why.", chunk_delay=0.25)
    model.say(ANSWER)  # the answer of the model step that runs again after the crash
    worker = crashing.worker(plain=True).start()
    agents = AgentWorker(agents=AGENTS, workflows=WORKFLOWS, connection_string=crashing.connection_string)
    try:
        client = agents.client()
        run = client.start("assistant", "what is 12*31?")
        deadline = time.monotonic() + 30
        while len(model.chat_requests()) < 2:  # the second model step is streaming its answer
            assert time.monotonic() < deadline, "the second model step did not start"
            time.sleep(0.02)
        time.sleep(0.5)
        worker.kill()
        worker.start()
        done = client.wait(run["run_id"], timeout=60)
        stream = client.follow(run["run_id"])
    finally:
        worker.stop()
        agents.stop()
    assert done["status"] == "completed" and done["response"] == ANSWER, worker.log()
    assert [(s["kind"], s["id"]) for s in done["steps"]] == [("model", "model-0"), ("tool", "tool-1"),
                                                               ("model", "model-2")]
    requests = model.chat_requests()
    # The first model step and the tool step had finished: neither ran again. The step the kill interrupted did.
    assert len(requests) == 3
    assert requests[1]["body"]["messages"] == requests[2]["body"]["messages"]
    assert requests[1]["body"]["messages"][-1]["content"] == "372"
    kinds = [(e["type"], e["step"]) for e in stream.events]
    assert kinds.count(("tool_call", "tool-1")) == 1 and kinds.count(("tool_result", "tool-1")) == 1
    assert ("step_restart", "model-2") in kinds and ("step_restart", "model-0") not in kinds
    assert stream.ok and stream.text == ANSWER
