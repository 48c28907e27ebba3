"""Remote A2A agents: called from orchestrations as durable steps, or offered to an agent as a tool.

A call from an orchestration (``durable_agents.run`` with a remote agent's name) is the sub-orchestration
``agent_remote_run``: one activity sends the message, with the sub-orchestration's instance id as its
``messageId`` (so a retried send names the same remote task at a server that deduplicates by it, as this one does),
and its result, the remote task id, is in history; later steps only follow that task. As a tool, the call is one
tool step: journaled like any, so a step that finished is not sent again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import httpx
from a2a.client import ClientConfig, create_client
from a2a.types.a2a_pb2 import AgentCard, GetTaskRequest, Message, Part, Role, SendMessageRequest, Task, TaskState
from google.protobuf import json_format

from .._errors import AgentError
from .._tools import Tool

REMOTE_RUN = "agent_remote_run"
SEND_STEP = "agent_remote_send"
READ_STEP = "agent_remote_read"
POLL_SECONDS = 2
ASK_POLL_SECONDS = 0.2
DONE = {"completed", "failed", "canceled", "rejected", "input_required", "auth_required"}

bp = df.Blueprint()


@dataclass(frozen=True)
class RemoteAgent:
    """An A2A agent served elsewhere, known by its agent card's URL; ``headers`` go with every request (keys)."""

    name: str
    card_url: str
    description: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "remote": True, "a2a": {"card": self.card_url}}

    def as_tool(self, description: str | None = None) -> Tool:
        """A tool that asks this agent a question and answers with its reply (one durable tool step)."""
        return Tool(name=self.name, description=description or self.description or f"ask the agent {self.name}",
                    fn=lambda message: ask(self, message),
                    parameters={"type": "object", "properties": {"message": {"type": "string"}},
                                "required": ["message"], "additionalProperties": False},
                    required=("message",))


def _state(task: Task) -> str:
    return TaskState.Name(task.status.state).removeprefix("TASK_STATE_").lower()


def _answer(task: Task) -> dict[str, Any]:
    """A remote task as the rest of the runtime sees a run's outcome."""
    text, structured = [], None
    for artifact in task.artifacts:
        for part in artifact.parts:
            if part.text:
                text.append(part.text)
            elif part.HasField("data") and structured is None:
                structured = json_format.MessageToDict(part.data)
    status_text = " ".join(p.text for p in task.status.message.parts if p.text)
    return {"task_id": task.id, "context_id": task.context_id, "state": _state(task),
            "response": "".join(text) or None, "structured": structured, "status_message": status_text or None}


async def _call(remote: RemoteAgent, work: Any) -> Any:
    async with httpx.AsyncClient(headers=dict(remote.headers), timeout=60) as http:
        card = (await http.get(remote.card_url)).raise_for_status().json()
        client = await create_client(json_format.ParseDict(card, AgentCard(), ignore_unknown_fields=True),
                                     ClientConfig(streaming=False, polling=True, httpx_client=http))
        try:
            return await work(client)
        finally:
            await client.close()


async def send(remote: RemoteAgent, text: str, message_id: str, context_id: str = "",
               wait: bool = False) -> dict[str, Any]:
    """Send ``text``; the remote task as an outcome (at once, or once it has finished with ``wait``)."""
    message = Message(message_id=message_id, role=Role.ROLE_USER, parts=[Part(text=text)], context_id=context_id)

    async def work(client: Any) -> dict[str, Any]:
        outcome = None
        async for event in client.send_message(SendMessageRequest(message=message)):
            if event.HasField("task"):
                outcome = _answer(event.task)
        if outcome is None:
            raise AgentError("RemoteAgentFailed", f"{remote.name} answered with a message, not a task", 502)
        while wait and outcome["state"] not in DONE:
            await asyncio.sleep(ASK_POLL_SECONDS)
            outcome = await _read(client, outcome["task_id"])
        return outcome

    return await _call(remote, work)


async def read(remote: RemoteAgent, task_id: str) -> dict[str, Any]:
    return await _call(remote, lambda client: _read(client, task_id))


async def _read(client: Any, task_id: str) -> dict[str, Any]:
    return _answer(await client.get_task(GetTaskRequest(id=task_id)))


def ask(remote: RemoteAgent, text: str) -> str:
    """Ask and wait (a tool's call, in a worker thread with no event loop running)."""
    outcome = asyncio.run(send(remote, text, uuid.uuid4().hex, wait=True))
    if outcome["state"] == "completed":
        return outcome["response"] or ""
    if outcome["state"] == "input_required":
        return f"{remote.name} waits for a person (task {outcome['task_id']}): {outcome['status_message']}"
    raise AgentError("RemoteAgentFailed", f"{remote.name} task {outcome['task_id']} ended {outcome['state']}: "
                                          f"{outcome['status_message'] or 'no reason given'}")


def _remote(name: str) -> RemoteAgent:
    from .._catalogue import get_remote  # the catalogue holds RemoteAgent definitions: imported when used

    return get_remote(name)


@bp.activity_trigger(input_name="payload", activity=SEND_STEP)
async def agent_remote_send(payload: dict[str, Any]) -> dict[str, Any]:
    """Send a remote agent its message (a durable step; its messageId makes a retry name the same task)."""
    return await send(_remote(payload["agent"]), payload["message"], payload["message_id"],
                      payload.get("context_id") or "")


@bp.activity_trigger(input_name="payload", activity=READ_STEP)
async def agent_remote_read(payload: dict[str, Any]) -> dict[str, Any]:
    """Read a remote task's state."""
    return await read(_remote(payload["agent"]), payload["task_id"])


@bp.orchestration_trigger(context_name="context", orchestration=REMOTE_RUN)
def agent_remote_run(context: df.DurableOrchestrationContext):
    """One call of a remote agent: send once, then follow the remote task until it ends; its answer is the output."""
    spec = context.get_input()
    outcome = yield context.call_activity(SEND_STEP, {**spec, "message_id": context.instance_id})
    while outcome["state"] not in DONE:
        context.set_custom_status({"status": "running", "agent": spec["agent"], "remote_task_id": outcome["task_id"],
                                   "remote_state": outcome["state"]})
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=POLL_SECONDS))
        outcome = yield context.call_activity(READ_STEP, {"agent": spec["agent"], "task_id": outcome["task_id"]})
    if outcome["state"] != "completed":
        raise RuntimeError(f"remote agent {spec['agent']} task {outcome['task_id']} ended {outcome['state']}: "
                           f"{outcome['status_message'] or 'no reason given'}")
    return {"response": outcome["response"], "structured": outcome["structured"],
            "remote_task_id": outcome["task_id"], "remote_context_id": outcome["context_id"]}
