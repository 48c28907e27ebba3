"""An A2A task is a run: its id is the run id, its context the session, its state the run's status.

This module maps the one onto the other: a run's view to a ``Task``, the run's stream events to A2A stream events,
and an A2A message back to what the run takes (its text, or an approval decision).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from a2a.types.a2a_pb2 import (
    Artifact,
    Message,
    Part,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from google.protobuf import json_format, struct_pb2

from .._agent_run import CANCELED_MESSAGE

ANSWER = "answer"
STATE = {
    "pending": TaskState.TASK_STATE_SUBMITTED,
    "queued": TaskState.TASK_STATE_SUBMITTED,
    "running": TaskState.TASK_STATE_WORKING,
    "awaiting_approval": TaskState.TASK_STATE_INPUT_REQUIRED,
    "completed": TaskState.TASK_STATE_COMPLETED,
    "failed": TaskState.TASK_STATE_FAILED,
    "canceled": TaskState.TASK_STATE_CANCELED,
}
# A stream ends at these: the task is done, or waits for the client.
STOP_STATES = {TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELED,
               TaskState.TASK_STATE_INPUT_REQUIRED}
YES = {"approve", "approved", "yes", "y", "allow", "ok"}
NO = {"deny", "denied", "no", "n", "reject", "refuse"}


def data_part(value: Any) -> Part:
    return Part(data=json_format.ParseDict(value, struct_pb2.Value()), media_type="application/json")


def agent_message(task_id: str, context_id: str, text: str, data: Any = None) -> Message:
    parts = [Part(text=text)] + ([data_part(data)] if data is not None else [])
    # Named by what it says, so the same message read twice has the same id.
    message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{task_id}:{text}"))
    return Message(message_id=message_id, task_id=task_id, context_id=context_id, role=Role.ROLE_AGENT, parts=parts)


def approval_text(pending: dict[str, Any]) -> str:
    return (f"The tool {pending['tool']} waits for a person's approval (arguments: "
            f"{json.dumps(pending.get('arguments'))}). Answer on this task with a data part "
            '{"approved": true} or {"approved": false, "comment": "..."}, or the text "approve" or "deny".')


def answer_artifact(view: dict[str, Any]) -> Artifact:
    parts = [Part(text=view.get("response") or "")]
    if view.get("structured") is not None:
        parts.append(data_part(view["structured"]))
    return Artifact(artifact_id=ANSWER, name=ANSWER, parts=parts)


def status_of(view: dict[str, Any], pending: dict[str, Any] | None) -> TaskStatus:
    state = STATE[view["status"]]
    task_id, context_id = view["run_id"], view["session_id"]
    if state == TaskState.TASK_STATE_INPUT_REQUIRED and pending:
        return TaskStatus(state=state, message=agent_message(task_id, context_id, approval_text(pending), pending))
    if state == TaskState.TASK_STATE_FAILED:
        return TaskStatus(state=state, message=agent_message(task_id, context_id, view.get("error") or "failed"))
    if view["status"] == "queued" and view.get("waiting_for"):
        return TaskStatus(state=state, message=agent_message(
            task_id, context_id, f"queued behind run {view['waiting_for']} on this context"))
    return TaskStatus(state=state)


def task_of(view: dict[str, Any], message: str, pending: dict[str, Any] | None,
            history_length: int | None = None) -> Task:
    """The task a run is: its status, the answer as an artifact once there is one, and the turn as history."""
    task_id, context_id = view["run_id"], view["session_id"]
    history = [Message(message_id=f"{task_id}-user", task_id=task_id, context_id=context_id, role=Role.ROLE_USER,
                       parts=[Part(text=message)])]
    artifacts = []
    if view["status"] == "completed":
        artifacts.append(answer_artifact(view))
        history.append(agent_message(task_id, context_id, view.get("response") or ""))
    if history_length is not None:
        history = history[len(history) - history_length:] if history_length else []
    return Task(id=task_id, context_id=context_id, status=status_of(view, pending), artifacts=artifacts,
                history=history)


def decision_of(message: Message) -> dict[str, Any] | None:
    """An approval decision in a client's message: a data part ``{"approved", "comment"?}``, or approve/deny."""
    for part in message.parts:
        if part.HasField("data"):
            value = json_format.MessageToDict(part.data)
            if isinstance(value, dict) and isinstance(value.get("approved"), bool):
                comment = value.get("comment")
                return {"approved": value["approved"], "comment": comment if isinstance(comment, str) else None}
    text = " ".join(part.text for part in message.parts if part.text).strip()
    found = re.match(r"([A-Za-z]+)\W*(.*)", text, re.DOTALL)
    if found and found[1].lower() in YES | NO:
        return {"approved": found[1].lower() in YES, "comment": found[2] or None}
    return None


def text_of(message: Message) -> str:
    """The user's text: its text parts, and any data parts as JSON."""
    pieces = []
    for part in message.parts:
        if part.text:
            pieces.append(part.text)
        elif part.HasField("data"):
            pieces.append(json.dumps(json_format.MessageToDict(part.data)))
    return "\n".join(pieces)


class StreamMapper:
    """Turns a run's stream events into A2A events for one task, in order."""

    def __init__(self, task_id: str, context_id: str) -> None:
        self.task_id, self.context_id = task_id, context_id
        self.fresh = True  # the next text starts the answer artifact anew

    def status(self, state: TaskState, text: str | None = None, data: Any = None) -> TaskStatusUpdateEvent:
        message = agent_message(self.task_id, self.context_id, text, data) if text is not None else None
        return TaskStatusUpdateEvent(task_id=self.task_id, context_id=self.context_id,
                                     status=TaskStatus(state=state, message=message))

    def text(self, text: str, last: bool = False, structured: Any = None) -> TaskArtifactUpdateEvent:
        parts = [Part(text=text)] + ([data_part(structured)] if structured is not None else [])
        event = TaskArtifactUpdateEvent(task_id=self.task_id, context_id=self.context_id,
                                        artifact=Artifact(artifact_id=ANSWER, name=ANSWER, parts=parts),
                                        append=not self.fresh, last_chunk=last)
        self.fresh = False
        return event

    def map(self, event: dict[str, Any]) -> list[Any]:
        kind, data = event["type"], event.get("data") or {}
        working = TaskState.TASK_STATE_WORKING
        if kind == "delta":
            return [self.text(data["text"])]
        if kind == "step_restart":
            # The step's partial text is void: the answer artifact starts again.
            self.fresh = True
            return [self.text("")]
        if kind in ("tool_call", "tool_result"):
            return [self.status(working, f"{kind.replace('_', ' ')}: {data.get('name')}", data)]
        if kind == "status":
            return [self.status(working)]
        if kind == "approval_required":
            return [self.status(TaskState.TASK_STATE_INPUT_REQUIRED, approval_text(data), data)]
        if kind == "done":
            self.fresh = True
            return [self.text(data.get("response") or "", last=True, structured=data.get("structured")),
                    self.status(TaskState.TASK_STATE_COMPLETED)]
        if kind == "error":
            canceled = data.get("message") == CANCELED_MESSAGE
            state = TaskState.TASK_STATE_CANCELED if canceled else TaskState.TASK_STATE_FAILED
            return [self.status(state, data.get("message") or "failed")]
        return []
