"""The worker's adapters answer every call the library (and the example app's workflows) make of df's API.

Found by scanning the sources, so that a new ``context.something`` or ``client.something`` in the library fails
here, not in a run on a worker.
"""

from __future__ import annotations

import re
from pathlib import Path

import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationClient import DurableOrchestrationClient

from durable_agents._worker._client import DurableClient
from durable_agents._worker._context import DurableContext
from durable_agents._worker._entity import EntityOperation
from tests.fixtures.processes import REPO

LIBRARY = REPO / "durable_agents" / "src" / "durable_agents"


def used(pattern: str, *roots: Path) -> set[str]:
    names: set[str] = set()
    for root in roots:
        for path in root.rglob("*.py"):
            if "_worker" not in path.parts:
                names |= set(re.findall(pattern, path.read_text()))
    return names


def public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def test_every_orchestration_and_entity_context_call_is_adapted() -> None:
    calls = used(r"\bcontext\.([a-z_]+)", LIBRARY, REPO / "agent_app" / "workflows")
    orchestration = calls & public(df.DurableOrchestrationContext)
    entity = calls & public(df.DurableEntityContext)
    assert orchestration and entity
    assert not orchestration - public(DurableContext) - entity, "DurableContext lacks these"
    assert not entity - public(EntityOperation) - orchestration, "EntityOperation lacks these"


def test_every_durable_client_call_of_the_library_is_adapted() -> None:
    calls = used(r"\bclient\.([a-z_]+)\(", LIBRARY) & public(DurableOrchestrationClient)
    assert {"start_new", "get_status", "raise_event", "signal_entity", "read_entity_state"} <= calls
    assert not calls - public(DurableClient)
