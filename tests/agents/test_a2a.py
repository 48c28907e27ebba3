"""Agents as A2A 1.0 servers, driven by the real a2a-sdk client over HTTP (and raw JSON-RPC for the edges)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import ClientConfig, create_client
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    TaskState,
)
from a2a.utils.errors import A2AError, TaskNotCancelableError, TaskNotFoundError
from google.protobuf import json_format, struct_pb2

from tests.agents.helpers import wait_run
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost

COMPLETED, WORKING = TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_WORKING
INPUT_REQUIRED, CANCELED = TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_CANCELED


def base(host: Devhost, agent: str = "assistant") -> str:
    return f"{host.url}/api/a2a/{agent}"


def message(text: str | None = None, *, context_id: str = "", task_id: str = "", data: Any = None,
            message_id: str | None = None) -> Message:
    parts = [Part(text=text)] if text is not None else []
    if data is not None:
        parts.append(Part(data=json_format.ParseDict(data, struct_pb2.Value())))
    return Message(message_id=message_id or uuid.uuid4().hex, role=Role.ROLE_USER, parts=parts,
                   context_id=context_id, task_id=task_id)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def collect(stream: AsyncIterator[StreamResponse]) -> list[StreamResponse]:
    return [event async for event in stream]


def answer_text(events: list[StreamResponse]) -> str:
    """The answer as a streaming client assembles it from artifact updates (append, or start again)."""
    text = ""
    for event in events:
        if event.HasField("artifact_update"):
            piece = "".join(p.text for p in event.artifact_update.artifact.parts)
            text = text + piece if event.artifact_update.append else piece
    return text


def states(events: list[StreamResponse]) -> list[int]:
    return [e.status_update.status.state for e in events if e.HasField("status_update")]


def test_each_agent_has_a_card_listed_by_the_api(host: Devhost, api: httpx.Client) -> None:
    listed = {a["name"]: a for a in api.get("/agents").json()["agents"]}
    assert listed["assistant"]["a2a"]["card"] == f"{base(host)}/.well-known/agent-card.json"

    async def main() -> Any:
        client = await create_client(base(host))
        try:
            return client._card  # the card the client resolved and will use
        finally:
            await client.close()

    card = run(main())
    assert card.name == "assistant" and card.capabilities.streaming
    assert [(i.url, i.protocol_binding, i.protocol_version) for i in card.supported_interfaces] == [
        (base(host), "JSONRPC", "1.0")]
    assert {"calculate", "send_email", "assistant"} <= {s.id for s in card.skills}


def test_a_blocking_send_answers_a_completed_task(host: Devhost, model: ModelServer) -> None:
    model.say("Hello from A2A.")

    async def main() -> list[StreamResponse]:
        client = await create_client(base(host), ClientConfig(streaming=False))
        try:
            return await collect(client.send_message(SendMessageRequest(message=message("hi"))))
        finally:
            await client.close()

    [event] = run(main())
    task = event.task
    assert task.status.state == COMPLETED
    assert [p.text for p in task.artifacts[0].parts] == ["Hello from A2A."]
    assert [m.role for m in task.history] == [Role.ROLE_USER, Role.ROLE_AGENT]


def test_a_non_blocking_send_answers_at_once_and_get_task_follows(host: Devhost, api: httpx.Client,
                                                                   model: ModelServer) -> None:
    model.say("Slowly.", delay=1.5)

    async def main() -> tuple[Any, Any]:
        client = await create_client(base(host), ClientConfig(streaming=False, polling=True))
        try:
            [first] = await collect(client.send_message(SendMessageRequest(message=message("take your time"))))
            await asyncio.to_thread(wait_run, api, first.task.id, {"completed"})
            return first.task, await client.get_task(GetTaskRequest(id=first.task.id))
        finally:
            await client.close()

    first, later = run(main())
    assert first.status.state in (TaskState.TASK_STATE_SUBMITTED, WORKING)
    assert later.status.state == COMPLETED and later.artifacts[0].parts[0].text == "Slowly."


def test_a_streamed_task_sends_the_answer_as_it_comes(host: Devhost, model: ModelServer) -> None:
    model.say("A streamed answer, in pieces.")

    async def main() -> list[StreamResponse]:
        client = await create_client(base(host))
        try:
            return await collect(client.send_message(SendMessageRequest(message=message("stream please"))))
        finally:
            await client.close()

    events = run(main())
    assert events[0].HasField("task")
    assert sum(e.HasField("artifact_update") for e in events) > 2
    assert answer_text(events) == "A streamed answer, in pieces."
    assert states(events)[-1] == COMPLETED


def test_the_context_is_the_session(host: Devhost, api: httpx.Client, model: ModelServer) -> None:
    model.say("Noted, Ada.")
    model.say("You are Ada.")
    context = f"a2a-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        client = await create_client(base(host), ClientConfig(streaming=False))
        try:
            for text in ("I am Ada", "Who am I?"):
                [event] = await collect(client.send_message(SendMessageRequest(
                    message=message(text, context_id=context))))
                assert event.task.context_id == context
        finally:
            await client.close()

    run(main())
    users = [m["content"] for m in model.chat_requests()[-1]["body"]["messages"] if m["role"] == "user"]
    assert users == ["I am Ada", "Who am I?"]
    assert api.get(f"/agents/assistant/sessions/{context}").json()["turns"] == 2


def test_an_approval_is_input_required_and_is_decided_by_a_message(host: Devhost, model: ModelServer,
                                                                    tmp_path_factory: Any) -> None:
    model.call_tools(("send_email", {"to": "ada@example.com", "subject": "A2A", "body": "hello"}))
    model.say("The email is sent.")

    async def main() -> tuple[list[StreamResponse], list[StreamResponse]]:
        client = await create_client(base(host))
        try:
            first = await collect(client.send_message(SendMessageRequest(message=message("mail Ada"))))
            task = first[0].task
            decision = message(task_id=task.id, context_id=task.context_id, data={"approved": True})
            return first, await collect(client.send_message(SendMessageRequest(message=decision)))
        finally:
            await client.close()

    first, second = run(main())
    assert states(first)[-1] == INPUT_REQUIRED
    waiting = [e.status_update.status for e in first if e.HasField("status_update")][-1]
    assert "send_email" in waiting.message.parts[0].text
    assert states(second)[-1] == COMPLETED and answer_text(second) == "The email is sent."


def test_a_text_deny_refuses_the_tool(host: Devhost, api: httpx.Client, model: ModelServer) -> None:
    model.call_tools(("send_email", {"to": "bob@example.com", "subject": "no", "body": "no"}))
    model.say("I did not send it.")

    async def main() -> Any:
        client = await create_client(base(host), ClientConfig(streaming=False))
        try:
            [event] = await collect(client.send_message(SendMessageRequest(message=message("mail Bob"))))
            assert event.task.status.state == INPUT_REQUIRED
            deny = message("deny: not today", task_id=event.task.id)
            [after] = await collect(client.send_message(SendMessageRequest(message=deny)))
            return after.task
        finally:
            await client.close()

    task = run(main())
    assert task.status.state == COMPLETED
    tool_result = [m for m in model.chat_requests()[-1]["body"]["messages"] if m["role"] == "tool"][0]
    assert "denied" in tool_result["content"] and "not today" in tool_result["content"]


def test_a_resent_message_is_the_same_task(host: Devhost, model: ModelServer) -> None:
    sent = message("only once", message_id=uuid.uuid4().hex)

    async def main() -> tuple[str, str]:
        client = await create_client(base(host), ClientConfig(streaming=False))
        try:
            [a] = await collect(client.send_message(SendMessageRequest(message=sent)))
            [b] = await collect(client.send_message(SendMessageRequest(message=sent)))
            return a.task.id, b.task.id
        finally:
            await client.close()

    first, second = run(main())
    assert first == second and len(model.chat_requests()) == 1


def test_cancel_and_list_tasks(host: Devhost, api: httpx.Client, model: ModelServer) -> None:
    model.say("too slow", delay=5)
    context = f"a2a-{uuid.uuid4().hex[:8]}"

    async def main() -> tuple[Any, Any, Exception, Exception]:
        client = await create_client(base(host), ClientConfig(streaming=False, polling=True))
        try:
            [event] = await collect(client.send_message(SendMessageRequest(message=message("x", context_id=context))))
            await asyncio.to_thread(wait_run, api, event.task.id, {"running"})
            canceled = await client.cancel_task(CancelTaskRequest(id=event.task.id))
            listed = await client.list_tasks(ListTasksRequest(context_id=context))
            try:
                await client.cancel_task(CancelTaskRequest(id=event.task.id))
            except A2AError as exc:
                again: Exception = exc
            try:
                await client.get_task(GetTaskRequest(id="no-such-task"))
            except A2AError as exc:
                missing: Exception = exc
            return canceled, listed, again, missing
        finally:
            await client.close()

    canceled, listed, again, missing = run(main())
    assert canceled.status.state == CANCELED
    assert [t.id for t in listed.tasks] == [canceled.id] and listed.tasks[0].status.state == CANCELED
    assert isinstance(again, TaskNotCancelableError) and isinstance(missing, TaskNotFoundError)


@pytest.mark.parametrize(("body", "code"), [
    (b"{not json", -32700),
    (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "NoSuchMethod", "params": {}}).encode(), -32601),
    (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "nope"}}).encode(), -32001),
    (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
        "messageId": "m", "role": "ROLE_USER", "parts": []}}}).encode(), -32602),
])
def test_json_rpc_errors_carry_the_spec_codes(host: Devhost, body: bytes, code: int) -> None:
    # Without the A2A-Version header a request is taken as protocol 0.3, as the 1.0 specification says.
    response = httpx.post(base(host), content=body, headers={"content-type": "application/json", "a2a-version": "1.0"})
    assert response.status_code == 200 and response.json()["error"]["code"] == code, response.text


def test_the_0_3_method_names_work_on_the_same_url(host: Devhost, model: ModelServer) -> None:
    model.say("Hello, old client.")
    request = {"jsonrpc": "2.0", "id": "r1", "method": "message/send", "params": {"message": {
        "kind": "message", "messageId": uuid.uuid4().hex, "role": "user", "parts": [{"kind": "text", "text": "hi"}]}}}
    result = httpx.post(base(host), json=request, timeout=60).json()["result"]
    assert result["kind"] == "task" and result["status"]["state"] == "completed"
    assert result["artifacts"][0]["parts"][0]["text"] == "Hello, old client."
    got = httpx.post(base(host), json={"jsonrpc": "2.0", "id": "r2", "method": "tasks/get",
                                       "params": {"id": result["id"]}}).json()["result"]
    assert got["id"] == result["id"] and got["status"]["state"] == "completed"


def test_a_client_that_lost_its_stream_to_a_crash_subscribes_again(start_app: Callable[..., Devhost],
                                                                    model: ModelServer, tmp_path: Path) -> None:
    host = start_app()
    answer = "This answer outlives the host that started streaming it to you."
    # The call the crash cuts off is made again after the restart: it gets the same answer.
    model.say(answer, chunk_delay=0.3)
    model.say(answer, chunk_delay=0.3)

    async def before_crash() -> tuple[str, str]:
        client = await create_client(base(host))
        try:
            events = []
            async for event in client.send_message(SendMessageRequest(message=message("tell me"))):
                events.append(event)
                if sum(e.HasField("artifact_update") for e in events) == 3:
                    break
            return events[0].task.id, answer_text(events)
        finally:
            await client.close()

    task_id, partial = run(before_crash())
    assert partial and answer.startswith(partial)
    host.restart()

    async def after_crash() -> tuple[list[StreamResponse], Any]:
        client = await create_client(base(host))
        try:
            events = await collect(client.subscribe(SubscribeToTaskRequest(id=task_id)))
            return events, await client.get_task(GetTaskRequest(id=task_id))
        finally:
            await client.close()

    events, task = run(after_crash())
    assert events[0].HasField("task") and events[0].task.id == task_id
    assert answer_text(events) == answer and states(events)[-1] == COMPLETED
    assert task.status.state == COMPLETED and task.artifacts[0].parts[0].text == answer
