"""A2A requests on one agent, answered from its durable runs (the a2a-sdk's ``RequestHandler`` seam).

Sending a message starts a run on the session named by ``contextId`` (queued for its turn like any run; the
``messageId`` is its idempotency key, so a resent message is the same task). A message on a task that waits for
approval is the decision. Streams are read from the run's stream store, so a subscriber that lost its stream, even
to a crash of the host, catches up with the answer so far and follows the rest.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator
from typing import Any

import azure.durable_functions as df
from a2a.server.context import ServerCallContext
from a2a.server.events import Event
from a2a.server.request_handlers.request_handler import RequestHandler
from a2a.types.a2a_pb2 import (
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
    TaskState,
    TaskStatusUpdateEvent,
)
from a2a.utils.errors import (
    ExtendedAgentCardNotConfiguredError,
    InvalidParamsError,
    PushNotificationNotSupportedError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)

from .._agent import Agent
from .._agent_run import MAX_TIMEOUT_SECONDS, ORCHESTRATOR, SESSION_ID, cancel, decide, run_view, submit, wait_run
from .._errors import AgentError
from .._streams import open_store
from ..client import Assembler
from .tasks import STATE, STOP_STATES, StreamMapper, decision_of, task_of, text_of

FOLLOW_BLOCK_SECONDS = 5.0
# A blocking send answers before the Functions front end's 230 s limit; the task goes on, for GetTask to follow.
BLOCKING_WAIT_SECONDS = MAX_TIMEOUT_SECONDS - 20
MAX_PAGE_SIZE = 100
CANCEL_WAIT_SECONDS = 10.0


def _a2a_error(exc: AgentError) -> Exception:
    if exc.status == 404:
        return TaskNotFoundError(exc.message)
    if exc.status == 409:
        return UnsupportedOperationError(exc.message)
    return InvalidParamsError(exc.message)


class RunHandler(RequestHandler):
    """The A2A methods of ``agent``: its tasks are its runs."""

    def __init__(self, client: df.DurableOrchestrationClient, agent: Agent, origin: str) -> None:
        self.client, self.agent, self.origin = client, agent, origin

    async def _read(self, task_id: str) -> tuple[dict[str, Any], df.DurableOrchestrationStatus]:
        status = await self.client.get_status(task_id)
        view = run_view(status, self.origin)
        if view is None or view["agent"] != self.agent.name:
            raise TaskNotFoundError(f"{self.agent.name} has no task {task_id!r}")
        return view, status

    @staticmethod
    def _task(view: dict[str, Any], status: df.DurableOrchestrationStatus,
              history_length: int | None = None) -> Task:
        spec = status.input_ if isinstance(status.input_, dict) else json.loads(status.input_)
        pending = (status.custom_status or {}).get("pending_approval") if view["status"] == "awaiting_approval" \
            else None
        return task_of(view, spec["message"], pending, history_length)

    async def task(self, task_id: str, history_length: int | None = None) -> Task:
        return self._task(*(await self._read(task_id)), history_length)

    async def _send(self, message: Message) -> tuple[str, str | None]:
        """Start a run for the message, or deliver the decision it carries; the task id and where to follow."""
        if message.task_id:
            view, _ = await self._read(message.task_id)
            if message.context_id and message.context_id != view["session_id"]:
                raise InvalidParamsError(f"task {message.task_id} belongs to context {view['session_id']}")
            if view["status"] != "awaiting_approval":
                raise UnsupportedOperationError(
                    f"task {message.task_id} is {view['status']}: a message on a task is an approval decision, "
                    "taken while the task is input-required; start a new task on the same contextId to go on")
            decision = decision_of(message)
            if decision is None:
                raise InvalidParamsError('the task waits for approval: send a data part {"approved": true|false, '
                                         '"comment"?} or the text "approve" or "deny"')
            last = await open_store().last(message.task_id)
            try:
                await decide(self.client, message.task_id, decision, self.origin)
            except AgentError as exc:
                raise _a2a_error(exc) from exc
            return message.task_id, last.cursor if last else None
        text = text_of(message)
        if not text.strip():
            raise InvalidParamsError("the message has no text")
        # A new context is named after the message, so that the message sent again names the same one.
        named = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.agent.name}:{message.message_id}") if message.message_id \
            else uuid.uuid4()
        session_id = message.context_id or named.hex
        if not SESSION_ID.fullmatch(session_id):
            raise InvalidParamsError("contextId must be 1-64 letters, digits, '.', '_' or '-'")
        try:
            run_id = await submit(self.client, self.agent, session_id, text, key=message.message_id or None,
                                  scope=f"a2a:{self.agent.name}")
        except AgentError as exc:
            raise _a2a_error(exc) from exc
        return run_id, None

    async def on_message_send(self, params: SendMessageRequest, context: ServerCallContext) -> Task | Message:
        task_id, _ = await self._send(params.message)
        history = params.configuration.history_length if params.configuration.HasField("history_length") else None
        if not params.configuration.return_immediately:
            if params.message.task_id:
                await self._decision_taken(task_id)
            await wait_run(self.client, task_id, self.origin, BLOCKING_WAIT_SECONDS)
        return await self.task(task_id, history)

    async def _decision_taken(self, task_id: str) -> None:
        """Wait until the run has taken the decision just sent: until then it still reads as waiting for it."""
        _, status = await self._read(task_id)
        decided = ((status.custom_status or {}).get("pending_approval") or {}).get("call_id")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BLOCKING_WAIT_SECONDS
        while loop.time() < deadline:
            view, status = await self._read(task_id)
            pending = (status.custom_status or {}).get("pending_approval") or {}
            if view["status"] != "awaiting_approval" or pending.get("call_id") != decided:
                return
            await asyncio.sleep(0.05)

    async def on_message_send_stream(self, params: SendMessageRequest,
                                     context: ServerCallContext) -> AsyncGenerator[Event]:
        task_id, cursor = await self._send(params.message)
        task = await self.task(task_id)
        yield task
        async for event in self._follow(task, cursor):
            yield event

    async def on_subscribe_to_task(self, params: SubscribeToTaskRequest,
                                   context: ServerCallContext) -> AsyncGenerator[Event]:
        task = await self.task(params.id)
        if task.status.state in STOP_STATES - {TaskState.TASK_STATE_INPUT_REQUIRED}:
            raise UnsupportedOperationError(f"task {params.id} is in a terminal state: nothing more will come")
        yield task
        if task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED:
            return
        # What the subscriber missed, as one piece of the answer so far; then what comes.
        entries = await open_store().read(params.id, None)
        mapper = StreamMapper(task.id, task.context_id)
        assembler = Assembler()
        for entry in entries:
            assembler.add(entry.event)
        if assembler.text():
            yield mapper.text(assembler.text())
        async for event in self._follow(task, entries[-1].cursor if entries else None, mapper):
            yield event

    async def _follow(self, task: Task, cursor: str | None,
                      mapper: StreamMapper | None = None) -> AsyncGenerator[Event]:
        """The run's events after ``cursor`` as A2A events, until the task ends or waits for the client."""
        mapper = mapper or StreamMapper(task.id, task.context_id)
        store = open_store()
        while True:
            entries = await store.read(task.id, cursor, block=FOLLOW_BLOCK_SECONDS)
            if not entries:
                view, _ = await self._read(task.id)
                state = STATE[view["status"]]
                if state in STOP_STATES and state != TaskState.TASK_STATE_INPUT_REQUIRED:
                    yield mapper.status(state)  # ended without a final event of its own (terminated)
                    return
                continue
            for entry in entries:
                cursor = entry.cursor
                for event in mapper.map(entry.event):
                    yield event
                    if isinstance(event, TaskStatusUpdateEvent) and event.status.state in STOP_STATES:
                        return

    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task | None:
        if params.HasField("history_length") and params.history_length < 0:
            raise InvalidParamsError("historyLength must not be negative")
        return await self.task(params.id, params.history_length if params.HasField("history_length") else None)

    async def on_cancel_task(self, params: CancelTaskRequest, context: ServerCallContext) -> Task | None:
        await self._read(params.id)
        try:
            await cancel(self.client, params.id, self.origin)
        except AgentError as exc:
            if exc.status == 409:
                raise TaskNotCancelableError(exc.message) from exc
            raise _a2a_error(exc) from exc
        # Terminating takes effect on the host's next turn: answer with the task once it reads as canceled.
        await wait_run(self.client, params.id, self.origin, CANCEL_WAIT_SECONDS)
        return await self.task(params.id)

    async def on_list_tasks(self, params: ListTasksRequest, context: ServerCallContext) -> ListTasksResponse:
        size = params.page_size or 50
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidParamsError(f"pageSize must be 1-{MAX_PAGE_SIZE}")
        try:
            start = int(params.page_token or 0)
        except ValueError:
            raise InvalidParamsError("pageToken is not one this server gave") from None
        history = params.history_length if params.HasField("history_length") else None
        tasks = []
        for listed in await self.client.get_status_all():
            if (listed.name or "").lower() != ORCHESTRATOR:
                continue
            # The list leaves inputs out, and a run's agent and session are in its input.
            status = await self.client.get_status(listed.instance_id, show_input=True)
            view = run_view(status, self.origin)
            if view is None or view["agent"] != self.agent.name:
                continue
            if params.context_id and view["session_id"] != params.context_id:
                continue
            if params.status and STATE[view["status"]] != params.status:
                continue
            tasks.append((status.created_time, self._task(view, status, history)))
        tasks.sort(key=lambda pair: pair[0], reverse=True)
        page = [task for _, task in tasks[start:start + size]]
        if not params.include_artifacts:
            for task in page:
                del task.artifacts[:]
        more = start + size < len(tasks)
        return ListTasksResponse(tasks=page, next_page_token=str(start + size) if more else "", page_size=size,
                                 total_size=len(tasks))

    async def on_create_task_push_notification_config(self, params: TaskPushNotificationConfig,
                                                      context: ServerCallContext) -> TaskPushNotificationConfig:
        raise PushNotificationNotSupportedError

    async def on_get_task_push_notification_config(self, params: GetTaskPushNotificationConfigRequest,
                                                   context: ServerCallContext) -> TaskPushNotificationConfig:
        raise PushNotificationNotSupportedError

    async def on_list_task_push_notification_configs(
            self, params: ListTaskPushNotificationConfigsRequest,
            context: ServerCallContext) -> ListTaskPushNotificationConfigsResponse:
        raise PushNotificationNotSupportedError

    async def on_delete_task_push_notification_config(self, params: DeleteTaskPushNotificationConfigRequest,
                                                      context: ServerCallContext) -> None:
        raise PushNotificationNotSupportedError

    async def on_get_extended_agent_card(self, params: GetExtendedAgentCardRequest,
                                         context: ServerCallContext) -> AgentCard:
        raise ExtendedAgentCardNotConfiguredError
