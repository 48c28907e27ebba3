"""A remote agent served by the a2a-sdk's own server (not this project's), called from a workflow and as a tool."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from a2a.helpers.proto_helpers import new_task
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes.agent_card_routes import create_agent_card_routes
from a2a.server.routes.jsonrpc_routes import create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, Part, TaskState
from starlette.applications import Starlette

from tests.agents.helpers import wait_workflow
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost


class Echo(AgentExecutor):
    """Answers every message with "peer says: <text>", as a task that works, then completes."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        self.messages.append(text)
        task_id, context_id = context.task_id or "", context.context_id or ""
        await event_queue.enqueue_event(new_task(task_id, context_id, TaskState.TASK_STATE_SUBMITTED,
                                                 history=[context.message]))
        updater = TaskUpdater(event_queue, task_id, context_id)
        await updater.start_work()
        await updater.add_artifact([Part(text=f"peer says: {text}")], name="answer")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        await TaskUpdater(event_queue, context.task_id or "", context.context_id or "").cancel()


@pytest.fixture(scope="module")
def peer() -> Iterator[tuple[str, Echo]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    card = AgentCard(name="peer", description="an echo agent on the a2a-sdk server", version="1.0",
                     supported_interfaces=[AgentInterface(url=f"{url}/", protocol_binding="JSONRPC",
                                                          protocol_version="1.0")],
                     capabilities=AgentCapabilities(streaming=True), default_input_modes=["text/plain"],
                     default_output_modes=["text/plain"],
                     skills=[AgentSkill(id="echo", name="echo", description="echoes", tags=["echo"])])
    executor = Echo()
    handler = DefaultRequestHandler(agent_executor=executor, task_store=InMemoryTaskStore(), agent_card=card)
    app = Starlette(routes=[*create_agent_card_routes(card), *create_jsonrpc_routes(handler, "/")])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the a2a-sdk server did not start"
        time.sleep(0.02)
    yield f"{url}/.well-known/agent-card.json", executor
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def caller(start_app: Callable[..., Devhost], peer: tuple[str, Echo]) -> Devhost:
    return start_app(REMOTE_A2A_AGENTS=f"peer={peer[0]}")


def test_a_workflow_calls_an_agent_on_the_a2a_sdk_server(caller: Devhost, peer: tuple[str, Echo]) -> None:
    with httpx.Client(base_url=f"{caller.url}/api", timeout=60) as api:
        started = api.post("/workflows/delegate", json={"agent": "peer", "message": "hello peer"}).json()
        done = wait_workflow(api, started["id"], {"completed", "failed"})
    assert done["status"] == "completed", done
    assert done["output"]["response"] == "peer says: hello peer"
    assert done["output"]["remote_task_id"]
    assert peer[1].messages.count("hello peer") == 1


def test_an_agent_asks_the_peer_through_a_tool(caller: Devhost, model: ModelServer) -> None:
    model.call_tools(("peer", {"message": "ping"}))
    model.say("The peer answered.")
    with httpx.Client(base_url=f"{caller.url}/api", timeout=60) as api:
        body = api.post("/agents/delegator/run", json={"message": "ask the peer"}).json()
    assert body["status"] == "completed"
    tool_result = [m for m in model.chat_requests()[-1]["body"]["messages"] if m["role"] == "tool"][0]
    assert tool_result["content"] == "peer says: ping"
