"""The durable client the library's code is written against, over the Durable Task SDK's gRPC client.

``DurableClient`` answers the part of ``df.DurableOrchestrationClient`` that the library's submit, read, wait,
decide, cancel and session code calls, with the same types back (``DurableOrchestrationStatus``,
``EntityStateResponse``), so that code runs unchanged on a worker. The SDK's client is synchronous and thread-safe:
each call runs in a thread, off whichever event loop awaits it. Nothing is kept here; the scheduler holds it all.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.EntityStateResponse import EntityStateResponse
from durabletask.client import OrchestrationQuery, OrchestrationState, OrchestrationStatus, TaskHubGrpcClient

from ._context import entity_instance

RUNTIME_STATUS = {
    OrchestrationStatus.RUNNING: "Running", OrchestrationStatus.COMPLETED: "Completed",
    OrchestrationStatus.CONTINUED_AS_NEW: "ContinuedAsNew", OrchestrationStatus.FAILED: "Failed",
    OrchestrationStatus.TERMINATED: "Terminated", OrchestrationStatus.PENDING: "Pending",
    OrchestrationStatus.SUSPENDED: "Suspended",
}


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _time(value: datetime) -> str:
    return value.replace(tzinfo=UTC).isoformat()


def status_of(state: OrchestrationState | None) -> DurableOrchestrationStatus:
    """The SDK's view of an instance as df's: falsy with no runtime status when there is no such instance.

    A failed instance's output is its error message, worded as the Functions extension words it.
    """
    if state is None:
        return DurableOrchestrationStatus()
    output = _json(state.serialized_output)
    if state.runtime_status == OrchestrationStatus.FAILED and state.failure_details is not None:
        output = f"Orchestrator function '{state.name}' failed: {state.failure_details.message}"
    return DurableOrchestrationStatus(
        name=state.name, instanceId=state.instance_id, createdTime=_time(state.created_at),
        lastUpdatedTime=_time(state.last_updated_at), input=_json(state.serialized_input), output=output,
        runtimeStatus=RUNTIME_STATUS[state.runtime_status], customStatus=_json(state.serialized_custom_status))


class DurableClient:
    """``df.DurableOrchestrationClient``'s calls that the library makes, on a ``TaskHubGrpcClient``."""

    def __init__(self, client: TaskHubGrpcClient) -> None:
        self.sdk = client

    async def start_new(self, orchestration_function_name: str, instance_id: str | None = None,
                        client_input: Any = None) -> str:
        """Start an instance; one that is running under that id already is an error, as on Functions."""
        return await asyncio.to_thread(self.sdk.schedule_new_orchestration, orchestration_function_name,
                                       input=client_input, instance_id=instance_id)

    async def get_status(self, instance_id: str, show_input: bool = True) -> DurableOrchestrationStatus:
        """The instance's status; its input, output and custom status are always read, as the extension's are."""
        return status_of(await asyncio.to_thread(self.sdk.get_orchestration_state, instance_id))

    async def get_status_by(self, created_time_from: datetime | None = None, created_time_to: datetime | None = None,
                            instance_id_prefix: str | None = None) -> list[DurableOrchestrationStatus]:
        query = OrchestrationQuery(created_time_from=created_time_from, created_time_to=created_time_to,
                                   instance_id_prefix=instance_id_prefix, fetch_inputs_and_outputs=True)
        return [status_of(s) for s in await asyncio.to_thread(self.sdk.get_all_orchestration_states, query)]

    async def get_status_all(self) -> list[DurableOrchestrationStatus]:
        return await self.get_status_by()

    async def raise_event(self, instance_id: str, event_name: str, event_data: Any = None) -> None:
        await asyncio.to_thread(self.sdk.raise_orchestration_event, instance_id, event_name, data=event_data)

    async def terminate(self, instance_id: str, reason: str) -> None:
        """Terminate the instance, not its sub-orchestrations (as the Functions extension does)."""
        await asyncio.to_thread(self.sdk.terminate_orchestration, instance_id, output=reason, recursive=False)

    async def signal_entity(self, entityId: df.EntityId, operation_name: str,  # noqa: N803 - df's name
                            operation_input: Any = None) -> None:
        await asyncio.to_thread(self.sdk.signal_entity, entity_instance(entityId), operation_name, operation_input)

    async def read_entity_state(self, entityId: df.EntityId) -> EntityStateResponse:  # noqa: N803 - df's name
        found = await asyncio.to_thread(self.sdk.get_entity, entity_instance(entityId))
        return EntityStateResponse(True, found.get_typed_state()) if found is not None else EntityStateResponse(False)
