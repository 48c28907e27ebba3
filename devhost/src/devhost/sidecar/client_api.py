"""The client half of ``TaskHubSidecarService``: what ``TaskHubGrpcClient`` calls, answered from the engine.

Every write goes through the engine's own entry points (the ones the HTTP management API uses), so an instance
started over gRPC is the same instance the dashboard and ``/runtime/webhooks/durabletask`` show. Payloads are the
SDK's JSON text, stored as is.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import durabletask.internal.orchestrator_service_pb2 as pb
import grpc
from google.protobuf import wrappers_pb2

from ..config import HUB_NAME
from ..durable.engine import Conflict, Engine
from ..durable.episode import entity_instance_id
from ..durable.history import EventType, timestamp
from ..durable.instance import TERMINAL, Instance
from .convert import (
    STATUS,
    STATUS_NAME,
    event_failure,
    failure_to_proto,
    from_timestamp,
    opt,
    set_text,
    text,
    to_proto,
    to_timestamp,
)

Context = grpc.aio.ServicerContext
_START_POLL_SECONDS = 0.05
_HISTORY_CHUNK = 100


def _statuses(values: Any) -> list[str]:
    return [STATUS_NAME[v] for v in values if v in STATUS_NAME]


class ClientRpcs:
    """Instance and entity management over gRPC."""

    def __init__(self, engine: Engine, default_hub: str) -> None:
        self.engine = engine
        self.default_hub = default_hub

    async def _hub(self, context: Context) -> str:
        """The call's task hub: the ``taskhub`` header, as durabletask-azuremanaged sends it, else the default."""
        hub = next((value for key, value in context.invocation_metadata() or () if key == "taskhub"),
                   self.default_hub)
        if not HUB_NAME.fullmatch(hub):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"task hub {hub!r} is not a valid task hub name: "
                                "use 3-50 letters and digits, starting with a letter")
        return hub

    # orchestrations

    async def StartInstance(self, request: pb.CreateInstanceRequest, context: Context) -> pb.CreateInstanceResponse:
        hub = await self._hub(context)
        if not request.name:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "StartInstance needs the orchestrator's name")
        instance_id = request.instanceId or uuid.uuid4().hex
        start_at = from_timestamp(request.scheduledStartTimestamp) if request.HasField("scheduledStartTimestamp") \
            else None
        policy = request.orchestrationIdReusePolicy
        replaceable = frozenset(_statuses(policy.replaceableStatus)) if policy.replaceableStatus else None
        try:
            await self.engine.start_instance(hub, request.name, instance_id, opt(request, "input"),
                                             opt(request, "version"), start_at=start_at, replaceable=replaceable)
        except Conflict as exc:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, str(exc))
        return pb.CreateInstanceResponse(instanceId=instance_id)

    async def GetInstance(self, request: pb.GetInstanceRequest, context: Context) -> pb.GetInstanceResponse:
        return self._instance_response(await self._hub(context), request)

    async def WaitForInstanceStart(self, request: pb.GetInstanceRequest, context: Context) -> pb.GetInstanceResponse:
        hub = await self._hub(context)
        # Starting is a status change inside the engine's memory: a short poll of it costs nothing.
        while (inst := self.engine.instance(hub, request.instanceId)) is not None and inst.status == "Pending":
            remaining = context.time_remaining()
            if remaining is not None and remaining <= 0:
                await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED,
                                    f"instance '{request.instanceId}' has not started yet")
            await asyncio.sleep(_START_POLL_SECONDS)
        return self._instance_response(hub, request)

    async def WaitForInstanceCompletion(self, request: pb.GetInstanceRequest,
                                        context: Context) -> pb.GetInstanceResponse:
        hub = await self._hub(context)
        if not await self.engine.wait(hub, request.instanceId, context.time_remaining()):
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED,
                                f"instance '{request.instanceId}' has not finished yet")
        return self._instance_response(hub, request)

    async def RaiseEvent(self, request: pb.RaiseEventRequest, context: Context) -> pb.RaiseEventResponse:
        hub = await self._existing(context, request.instanceId)
        await self.engine.raise_event(hub, request.instanceId, request.name, opt(request, "input"))
        return pb.RaiseEventResponse()

    async def TerminateInstance(self, request: pb.TerminateRequest, context: Context) -> pb.TerminateResponse:
        hub = await self._existing(context, request.instanceId)
        output = opt(request, "output")
        # Kept as a value, as the HTTP API keeps its reason: the instance's output is its JSON.
        reason = json.loads(output) if output is not None else None
        ids = [request.instanceId, *(self._descendants(hub, request.instanceId) if request.recursive else [])]
        for instance_id in ids:
            inst = self.engine.instance(hub, instance_id)
            if inst is not None and not inst.is_terminal:
                await self.engine.control(hub, instance_id, EventType.EXECUTION_TERMINATED, reason)
        return pb.TerminateResponse()

    async def SuspendInstance(self, request: pb.SuspendRequest, context: Context) -> pb.SuspendResponse:
        hub = await self._existing(context, request.instanceId)
        await self.engine.control(hub, request.instanceId, EventType.EXECUTION_SUSPENDED, opt(request, "reason"))
        return pb.SuspendResponse()

    async def ResumeInstance(self, request: pb.ResumeRequest, context: Context) -> pb.ResumeResponse:
        hub = await self._existing(context, request.instanceId)
        await self.engine.control(hub, request.instanceId, EventType.EXECUTION_RESUMED, opt(request, "reason"))
        return pb.ResumeResponse()

    async def RestartInstance(self, request: pb.RestartInstanceRequest,
                              context: Context) -> pb.RestartInstanceResponse:
        hub = await self._existing(context, request.instanceId)
        inst = self.engine.instance(hub, request.instanceId)
        assert inst is not None
        new_id = uuid.uuid4().hex if request.restartWithNewInstanceId else request.instanceId
        try:
            await self.engine.start_instance(hub, inst.name, new_id, inst.input, inst.version or "")
        except Conflict as exc:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{exc}; restart it once it has finished")
        return pb.RestartInstanceResponse(instanceId=new_id)

    async def RewindInstance(self, request: pb.RewindInstanceRequest, context: Context) -> pb.RewindInstanceResponse:
        hub = await self._existing(context, request.instanceId)
        try:
            await self.engine.rewind(hub, request.instanceId, opt(request, "reason"))
        except Conflict as exc:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
        return pb.RewindInstanceResponse()

    async def QueryInstances(self, request: pb.QueryInstancesRequest, context: Context) -> pb.QueryInstancesResponse:
        hub, query = await self._hub(context), request.query
        where, args = "", []
        statuses = _statuses(query.runtimeStatus)
        if statuses:
            where, args = f" AND status IN ({','.join('?' * len(statuses))})", statuses
        if query.HasField("createdTimeFrom"):
            where, args = where + " AND created >= ?", args + [timestamp(from_timestamp(query.createdTimeFrom))]
        if query.HasField("createdTimeTo"):
            where, args = where + " AND created < ?", args + [timestamp(from_timestamp(query.createdTimeTo))]
        prefix = opt(query, "instanceIdPrefix")
        if prefix:
            where, args = where + " AND substr(id, 1, ?) = ?", args + [len(prefix), prefix]
        start = int(query.continuationToken.value) if opt(query, "continuationToken") else 0
        size = query.maxInstanceCount if query.maxInstanceCount > 0 else None
        # One row past the page says whether another page follows.
        rows = self.engine.store.query_instances(hub, where, args, limit=size + 1 if size else None, offset=start)
        page = rows[:size] if size else rows
        states = [self._state(Instance.from_row(r, []), query.fetchInputsAndOutputs) for r in page]
        more = size is not None and len(rows) > size
        return pb.QueryInstancesResponse(orchestrationState=states,
                                         continuationToken=text(str(start + len(page))) if more else None)

    async def ListInstanceIds(self, request: pb.ListInstanceIdsRequest,
                              context: Context) -> pb.ListInstanceIdsResponse:
        hub = await self._hub(context)
        statuses = [s for s in _statuses(request.runtimeStatus) if s in TERMINAL] or sorted(TERMINAL)
        after = None
        if opt(request, "lastInstanceKey"):
            updated, _, instance_id = request.lastInstanceKey.value.partition("|")
            after = (updated, instance_id)
        since = timestamp(from_timestamp(request.completedTimeFrom)) if request.HasField("completedTimeFrom") else None
        until = timestamp(from_timestamp(request.completedTimeTo)) if request.HasField("completedTimeTo") else None
        size = request.pageSize if request.pageSize > 0 else 100
        rows = self.engine.store.finished_ids(hub, statuses, since, until, after, size + 1)
        page = rows[:size]
        key = text(f"{page[-1][0]}|{page[-1][1]}") if len(rows) > size else None
        return pb.ListInstanceIdsResponse(instanceIds=[r[1] for r in page], lastInstanceKey=key)

    async def PurgeInstances(self, request: pb.PurgeInstancesRequest, context: Context) -> pb.PurgeInstancesResponse:
        hub = await self._hub(context)
        which = request.WhichOneof("request")
        if which == "instanceId":
            ids = [request.instanceId]
        elif which == "instanceBatch":
            ids = list(request.instanceBatch.instanceIds)
        elif which == "purgeInstanceFilter":
            ids = self._filtered(hub, request.purgeInstanceFilter)
        else:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "PurgeInstances needs an instance id, a batch of "
                                "ids or a filter")
        if request.recursive:
            ids += [child for instance_id in list(ids) for child in self._descendants(hub, instance_id)]
        deleted = await self.engine.purge(hub, list(dict.fromkeys(ids)))
        return pb.PurgeInstancesResponse(deletedInstanceCount=deleted, isComplete=wrappers_pb2.BoolValue(value=True))

    async def StreamInstanceHistory(self, request: pb.StreamInstanceHistoryRequest, context: Context) -> Any:
        hub = await self._existing(context, request.instanceId)
        history = self.engine.store.history(hub, request.instanceId)
        for start in range(0, len(history), _HISTORY_CHUNK):
            yield pb.HistoryChunk(events=[to_proto(ev) for ev in history[start:start + _HISTORY_CHUNK]])

    # entities

    async def SignalEntity(self, request: pb.SignalEntityRequest, context: Context) -> pb.SignalEntityResponse:
        hub = await self._hub(context)
        if not request.instanceId.startswith("@") or request.instanceId.count("@") < 2:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"entity id {request.instanceId!r} must be '@name@key'")
        # signal_time: the entity gets the signal then (a stored timer holds it meanwhile).
        at = from_timestamp(request.scheduledTime) if request.HasField("scheduledTime") else None
        await self.engine.signal_entity(hub, request.instanceId, request.name, opt(request, "input"), at)
        return pb.SignalEntityResponse()

    async def GetEntity(self, request: pb.GetEntityRequest, context: Context) -> pb.GetEntityResponse:
        hub = await self._hub(context)
        entity_id = entity_instance_id(request.instanceId)
        found = self.engine.store.entity(hub, entity_id)
        if found is None or not found[1]:
            return pb.GetEntityResponse(exists=False)
        state, _, updated = found
        return pb.GetEntityResponse(exists=True, entity=self._entity(hub, entity_id, state, updated,
                                                                     request.includeState))

    async def QueryEntities(self, request: pb.QueryEntitiesRequest, context: Context) -> pb.QueryEntitiesResponse:
        hub, query = await self._hub(context), request.query
        prefix = opt(query, "instanceIdStartsWith") or "@"
        # Entity names are kept in lower case, as the SDK writes them (EntityInstanceId lowercases the name).
        if prefix.startswith("@"):
            name, at, key = prefix[1:].partition("@")
            prefix = "@" + name.lower() + at + key
        since = timestamp(from_timestamp(query.lastModifiedFrom)) if query.HasField("lastModifiedFrom") else None
        until = timestamp(from_timestamp(query.lastModifiedTo)) if query.HasField("lastModifiedTo") else None
        rows = [(e, state, updated) for e, state, exists, updated, _ in self.engine.store.list_entities(hub, prefix)
                if exists and (since is None or updated >= since) and (until is None or updated < until)]
        start = int(query.continuationToken.value) if opt(query, "continuationToken") else 0
        size = query.pageSize.value if query.HasField("pageSize") and query.pageSize.value > 0 else len(rows)
        page = rows[start:start + size]
        more = start + len(page) < len(rows)
        return pb.QueryEntitiesResponse(
            entities=[self._entity(hub, e, state, updated, query.includeState) for e, state, updated in page],
            continuationToken=text(str(start + len(page))) if more else None)

    async def CleanEntityStorage(self, request: pb.CleanEntityStorageRequest,
                                 context: Context) -> pb.CleanEntityStorageResponse:
        hub = await self._hub(context)
        removed = await self.engine.remove_empty_entities(hub) if request.removeEmptyEntities else 0
        # A lock is orphaned when the orchestration holding it has finished (terminated inside its critical
        # section) or is gone.
        released = await self.engine.release_orphaned_locks(hub) if request.releaseOrphanedLocks else 0
        return pb.CleanEntityStorageResponse(emptyEntitiesRemoved=removed, orphanedLocksReleased=released)

    # helpers

    async def _existing(self, context: Context, instance_id: str) -> str:
        hub = await self._hub(context)
        if self.engine.instance(hub, instance_id) is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no instance with ID '{instance_id}' in task hub '{hub}'")
        return hub

    def _descendants(self, hub: str, instance_id: str) -> list[str]:
        found: list[str] = []
        for child in self.engine.store.children(hub, instance_id):
            found += [child, *self._descendants(hub, child)]
        return found

    def _filtered(self, hub: str, purge: pb.PurgeInstanceFilter) -> list[str]:
        statuses = [s for s in _statuses(purge.runtimeStatus) if s in TERMINAL] or sorted(TERMINAL)
        where, args = f" AND status IN ({','.join('?' * len(statuses))})", list(statuses)
        if purge.HasField("createdTimeFrom"):
            where, args = where + " AND created >= ?", args + [timestamp(from_timestamp(purge.createdTimeFrom))]
        if purge.HasField("createdTimeTo"):
            where, args = where + " AND created < ?", args + [timestamp(from_timestamp(purge.createdTimeTo))]
        return [r["id"] for r in self.engine.store.query_instances(hub, where, args)]

    def _instance_response(self, hub: str, request: pb.GetInstanceRequest) -> pb.GetInstanceResponse:
        inst = self.engine.instance(hub, request.instanceId)
        if inst is None:
            return pb.GetInstanceResponse(exists=False)
        return pb.GetInstanceResponse(exists=True, orchestrationState=self._state(inst, request.getInputsAndOutputs))

    def _state(self, inst: Instance, payloads: bool) -> pb.OrchestrationState:
        state = pb.OrchestrationState(
            instanceId=inst.id, name=inst.name, version=text(inst.version), orchestrationStatus=STATUS[inst.status],
            createdTimestamp=to_timestamp(inst.created), lastUpdatedTimestamp=to_timestamp(inst.updated),
            customStatus=text(inst.custom_status), executionId=text(str(inst.execution)),
            parentInstanceId=text((inst.parent or {}).get("id")))
        if inst.is_terminal:
            state.completedTimestamp.CopyFrom(to_timestamp(inst.updated))
        if inst.status == "Failed":
            # An episode ends with ExecutionCompleted, then OrchestratorCompleted.
            ending = [e for e in self.engine.store.last_events(inst.hub, inst.id, 2)
                      if e["EventType"] == EventType.EXECUTION_COMPLETED]
            if ending:
                state.failureDetails.CopyFrom(failure_to_proto(event_failure(ending[0])))
            else:  # failed inside devhost itself (an episode it could not take): its message is the output
                state.failureDetails.CopyFrom(pb.TaskFailureDetails(
                    errorType="DevhostError", errorMessage=str(json.loads(inst.output or '""'))))
        if payloads:
            set_text(state, "input", inst.input)
            if inst.status != "Failed":  # a failure is told by its details
                set_text(state, "output", inst.output)
        return state

    def _entity(self, hub: str, entity_id: str, state: str | None, updated: str,
                include_state: bool) -> pb.EntityMetadata:
        # lockedBy is the orchestration holding the lock, as DTFx's EntityStatus.LockedBy has it.
        return pb.EntityMetadata(instanceId=entity_id, lastModifiedTime=to_timestamp(updated),
                                 backlogQueueSize=self.engine.entity_backlog(hub, entity_id),
                                 lockedBy=text(self.engine.entity_lock(hub, entity_id)),
                                 serializedState=text(state) if include_state else None)
