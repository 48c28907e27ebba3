"""Work items for connected workers: offered per task hub, delivered with completion tokens, given back on loss.

The engine's remote executor offers an episode, an activity or an entity batch and awaits its answer. Each
``GetWorkItems`` stream of a hub is a worker; pending items go to the streams round-robin, within each stream's
concurrency limits and work item filters. A delivery gets a fresh completion token; the first completion under any
token of an item answers it and later ones are ignored, so an episode is applied once however often it was sent. A
worker that disconnects or abandons an item gives it back, and it goes to the next worker (an activity may then run
twice: activities are at-least-once, as everywhere in devhost). Nothing here is durable: an item lost with the
process is offered again when the engine restarts its work from the store.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import durabletask.internal.orchestrator_service_pb2 as pb

from ..durable.entities import BatchResult
from ..durable.episode import Outcome
from ..durable.executor import TaskFailure
from ..durable.history import Event, EventType, event, timestamp
from ..durable.instance import Instance
from .convert import failure_from_proto, opt, text, to_proto
from .outcome import batch_result, episode_outcome

log = logging.getLogger("devhost.sidecar")
WorkKind = Literal["orchestration", "activity", "entity"]
# An idle stream gets a health ping this often, well inside the SDK's 120 s silent-disconnect timeout
# (durabletask/grpc_options.py, GrpcWorkerResiliencyOptions.silent_disconnect_timeout_seconds).
PING_SECONDS = 30.0
# An abandoned item waits this long before it is offered again, so that a worker refusing it (a version it does not
# run) does not get it straight back in a loop.
ABANDON_DELAY_SECONDS = 1.0


@dataclass(eq=False)
class _Item:
    hub: str
    kind: WorkKind
    name: str
    field: str  # the WorkItem field: orchestratorRequest, activityRequest or entityRequest
    request: Any
    answer: asyncio.Future[Any]
    tokens: set[str] = field(default_factory=set)
    holder: _Stream | None = None


@dataclass(eq=False)
class _Stream:
    """One connected worker's work item stream."""

    hub: str
    limits: dict[WorkKind, int]  # 0: no limit
    filters: dict[WorkKind, set[str]] | None
    outbox: asyncio.Queue[tuple[_Item, str]] = field(default_factory=asyncio.Queue)
    held: dict[WorkKind, set[_Item]] = field(
        default_factory=lambda: {"orchestration": set(), "activity": set(), "entity": set()})

    def takes(self, item: _Item) -> bool:
        limit = self.limits[item.kind]
        if limit and len(self.held[item.kind]) >= limit:
            return False
        return self.filters is None or item.name.casefold() in self.filters[item.kind]


def _filters(request: pb.GetWorkItemsRequest) -> dict[WorkKind, set[str]] | None:
    """A worker's work item filters by kind (durabletask/worker.py ``WorkItemFilters``); None takes everything."""
    if not request.HasField("workItemFilters"):
        return None
    wanted = request.workItemFilters
    return {"orchestration": {f.name.casefold() for f in wanted.orchestrations},
            "activity": {f.name.casefold() for f in wanted.activities},
            "entity": {f.name.casefold() for f in wanted.entities}}


class Dispatcher:
    """Pending and delivered work items of every hub, and the streams that take them."""

    def __init__(self) -> None:
        self._pending: dict[str, deque[_Item]] = {}
        self._streams: dict[str, list[_Stream]] = {}
        self._turn = itertools.count()
        self._by_token: dict[str, _Item] = {}
        self._closed = False

    def offer(self, hub: str, kind: WorkKind, name: str, field_name: str, request: Any) -> asyncio.Future[Any]:
        """Queue work for the hub's workers; the future gets the worker's response message."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._closed:
            answer.cancel()
            return answer
        item = _Item(hub, kind, name, field_name, request, answer)
        answer.add_done_callback(lambda _: self._forget(item))
        self._pending.setdefault(hub, deque()).append(item)
        self._pump(hub)
        return answer

    async def stream(self, hub: str, request: pb.GetWorkItemsRequest) -> AsyncIterator[pb.WorkItem]:
        """The work items of one worker until it disconnects; what it still holds then goes to the others."""
        limits: dict[WorkKind, int] = {
            "orchestration": max(0, request.maxConcurrentOrchestrationWorkItems),
            "activity": max(0, request.maxConcurrentActivityWorkItems),
            "entity": max(0, request.maxConcurrentEntityWorkItems),
        }
        worker = _Stream(hub, limits, _filters(request))
        self._streams.setdefault(hub, []).append(worker)
        log.info("worker connected to task hub %s (%d connected)", hub, len(self._streams[hub]))
        self._pump(hub)
        getter: asyncio.Future[tuple[_Item, str]] | None = None
        try:
            while True:
                if getter is None:
                    getter = asyncio.ensure_future(worker.outbox.get())
                done, _ = await asyncio.wait({getter}, timeout=PING_SECONDS)
                if not done:
                    yield pb.WorkItem(healthPing=pb.HealthPing())
                    continue
                item, token = getter.result()
                getter = None
                if item.answer.done():
                    continue  # answered under another token meanwhile
                yield pb.WorkItem(completionToken=token, **{item.field: item.request})
        finally:
            if getter is not None:
                getter.cancel()
            self._disconnect(worker)

    def complete(self, token: str, response: Any) -> bool:
        """Answer the item delivered under ``token``; False when it is unknown or already answered."""
        item = self._by_token.get(token)
        if item is None or item.answer.done():
            return False
        item.answer.set_result(response)
        return True

    def abandon(self, token: str) -> None:
        """A worker gave the item back: offer it again shortly."""
        item = self._by_token.get(token)
        if item is None or item.answer.done():
            return
        self._release(item)
        asyncio.get_running_loop().call_later(ABANDON_DELAY_SECONDS, self._requeue, item)

    def close(self) -> None:
        """Deliver nothing more; items never delivered are cancelled (the engine runs them again at its next
        start), delivered ones may still be completed until the server stops."""
        self._closed = True
        for queue in self._pending.values():
            for item in queue:
                item.answer.cancel()
            queue.clear()

    # internals

    def _pump(self, hub: str) -> None:
        queue, streams = self._pending.get(hub), self._streams.get(hub)
        if not queue or not streams or self._closed:
            return
        left: deque[_Item] = deque()
        while queue:
            item = queue.popleft()
            if item.answer.done():
                continue
            start = next(self._turn)
            chosen = next((s for i in range(len(streams)) if (s := streams[(start + i) % len(streams)]).takes(item)),
                          None)
            if chosen is None:
                left.append(item)
                continue
            token = uuid.uuid4().hex
            item.tokens.add(token)
            item.holder = chosen
            self._by_token[token] = item
            chosen.held[item.kind].add(item)
            chosen.outbox.put_nowait((item, token))
        queue.extend(left)

    def _release(self, item: _Item) -> None:
        if item.holder is not None:
            item.holder.held[item.kind].discard(item)
            hub = item.holder.hub
            item.holder = None
            self._pump(hub)

    def _requeue(self, item: _Item) -> None:
        if item.answer.done() or self._closed:
            return
        self._pending.setdefault(item.hub, deque()).appendleft(item)
        self._pump(item.hub)

    def _disconnect(self, worker: _Stream) -> None:
        streams = self._streams.get(worker.hub, [])
        if worker in streams:
            streams.remove(worker)
        given_back = [item for held in worker.held.values() for item in held if not item.answer.done()]
        for item in given_back:
            item.holder = None
        worker.held = {"orchestration": set(), "activity": set(), "entity": set()}
        # Back at the head of the queue, in the order they were offered, for the next worker that connects.
        self._pending.setdefault(worker.hub, deque()).extendleft(reversed(given_back))
        log.info("worker left task hub %s (%d connected); %d work item(s) it held offered again",
                 worker.hub, len(streams), len(given_back))
        self._pump(worker.hub)

    def _forget(self, item: _Item) -> None:
        for token in item.tokens:
            self._by_token.pop(token, None)
        if item.holder is not None:
            self._release(item)


class RemoteExecutor:
    """The engine's executor for names the Functions app does not have: Durable Task SDK workers over gRPC."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    async def episode(self, inst: Instance, batch: list[Event], now: datetime) -> Outcome:
        new = [event(EventType.ORCHESTRATOR_STARTED, -1, timestamp(now)), *batch]
        request = pb.OrchestratorRequest(
            instanceId=inst.id, executionId=text(str(inst.execution)),
            pastEvents=[to_proto(ev) for ev in inst.history], newEvents=[to_proto(ev) for ev in new])
        response = await self.dispatcher.offer(inst.hub, "orchestration", inst.name, "orchestratorRequest", request)
        return episode_outcome(inst, new, now, response)

    async def activity(self, hub: str, instance_id: str, task_id: int, name: str,
                       input_text: str | None) -> str | None:
        request = pb.ActivityRequest(name=name, input=text(input_text), taskId=task_id,
                                     orchestrationInstance=pb.OrchestrationInstance(instanceId=instance_id))
        response: pb.ActivityResponse = await self.dispatcher.offer(hub, "activity", name, "activityRequest",
                                                                    request)
        failure = response.failureDetails
        if response.HasField("failureDetails") and (failure.errorMessage or failure.errorType):
            raise TaskFailure(failure_from_proto(failure))
        return opt(response, "result")

    async def entity_batch(self, hub: str, entity_id: str, state: str | None, exists: bool,
                           ops: list[dict[str, Any]]) -> BatchResult:
        request = pb.EntityBatchRequest(
            instanceId=entity_id, entityState=text(state if exists else None),
            operations=[pb.OperationRequest(operation=op["name"], requestId=op.get("id") or uuid.uuid4().hex,
                                            input=text(op.get("input"))) for op in ops])
        result = await self.dispatcher.offer(hub, "entity", entity_id.split("@", 2)[1], "entityRequest", request)
        return batch_result(result, state, exists, len(ops))
