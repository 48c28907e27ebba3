"""``TaskHubSidecarService``: the worker half (work items, completions, abandons) over the client half."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import durabletask.internal.orchestrator_service_pb2 as pb
import durabletask.internal.orchestrator_service_pb2_grpc as stubs
from google.protobuf import empty_pb2

from ..durable.engine import Engine
from .client_api import ClientRpcs, Context
from .dispatch import Dispatcher

log = logging.getLogger("devhost.sidecar")


class SidecarService(ClientRpcs, stubs.TaskHubSidecarServiceServicer):
    """What a Durable Task SDK worker and client call; RPCs not defined here answer UNIMPLEMENTED."""

    def __init__(self, engine: Engine, dispatcher: Dispatcher, default_hub: str) -> None:
        super().__init__(engine, default_hub)
        self.dispatcher = dispatcher

    async def Hello(self, request: empty_pb2.Empty, context: Context) -> empty_pb2.Empty:
        await self._hub(context)
        return empty_pb2.Empty()

    async def GetWorkItems(self, request: pb.GetWorkItemsRequest, context: Context) -> AsyncIterator[pb.WorkItem]:
        hub = await self._hub(context)
        async for item in self.dispatcher.stream(hub, request):
            yield item

    async def CompleteOrchestratorTask(self, request: pb.OrchestratorResponse,
                                       context: Context) -> pb.CompleteTaskResponse:
        self._complete(request.completionToken, request, f"orchestration {request.instanceId}")
        return pb.CompleteTaskResponse()

    async def CompleteActivityTask(self, request: pb.ActivityResponse, context: Context) -> pb.CompleteTaskResponse:
        self._complete(request.completionToken, request, f"activity #{request.taskId} of {request.instanceId}")
        return pb.CompleteTaskResponse()

    async def CompleteEntityTask(self, request: pb.EntityBatchResult, context: Context) -> pb.CompleteTaskResponse:
        self._complete(request.completionToken, request, "entity batch")
        return pb.CompleteTaskResponse()

    async def AbandonTaskOrchestratorWorkItem(self, request: pb.AbandonOrchestrationTaskRequest,
                                              context: Context) -> pb.AbandonOrchestrationTaskResponse:
        self.dispatcher.abandon(request.completionToken)
        return pb.AbandonOrchestrationTaskResponse()

    async def AbandonTaskActivityWorkItem(self, request: pb.AbandonActivityTaskRequest,
                                          context: Context) -> pb.AbandonActivityTaskResponse:
        self.dispatcher.abandon(request.completionToken)
        return pb.AbandonActivityTaskResponse()

    async def AbandonTaskEntityWorkItem(self, request: pb.AbandonEntityTaskRequest,
                                        context: Context) -> pb.AbandonEntityTaskResponse:
        self.dispatcher.abandon(request.completionToken)
        return pb.AbandonEntityTaskResponse()

    def _complete(self, token: str, response: object, what: str) -> None:
        # A completion for a work item already answered (sent twice, the first worker answered late) changes
        # nothing: the first answer was the one applied.
        if not self.dispatcher.complete(token, response):
            log.info("ignored a completion of %s: its work item was already answered or is unknown", what)
