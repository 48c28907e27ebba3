"""Running a batch of operations on one durable entity through the SDK's entity wrapper."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# What an entity answers a granted lock request with; the orchestration only needs the event's name
# (DurableTask.Core's ResponseMessage.LockAcquisitionCompletion).
LOCK_GRANTED = "Lock Acquisition Completed"
Queued = tuple[int, dict[str, Any]]


@dataclass
class BatchResult:
    """The entity's state after the batch and one result per operation, in order."""

    state: str | None
    exists: bool
    results: list[dict[str, Any]]
    # What the operations asked for besides results: (entity id, operation message) signals to other entities
    # and (instance id, name, input, version) orchestrations to start.
    signals: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    starts: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)


def is_lock_message(message: dict[str, Any]) -> bool:
    """A lock request (``{"lock": ...}``) or release (``{"release": ...}``), which the engine applies itself."""
    return "lock" in message or "release" in message


def sender(message: dict[str, Any]) -> str | None:
    """The orchestration a queued message comes from; None for signals from clients, entities and orchestrations."""
    if "lock" in message:
        return str(message["lock"]["owner"]["id"])
    if "release" in message:
        return str(message["release"]["owner"])
    return (message.get("caller") or {}).get("id")


def admitted(queue: list[Queued], owner: str | None) -> list[Queued]:
    """The queued messages an entity may take now, in order: all of them while it is unlocked; while an
    orchestration holds its lock, only that orchestration's (the others wait for the release, as in DTFx)."""
    return [item for item in queue if owner is None or sender(item[1]) == owner]


def split_entity_id(entity_id: str) -> tuple[str, str]:
    """``@name@key`` → (name, key)."""
    _, name, key = entity_id.split("@", 2)
    return name, key


def run_batch(
    fn: Callable[[str], str] | None,
    entity_id: str,
    state: str | None,
    exists: bool,
    ops: list[dict[str, Any]],
) -> BatchResult:
    """Apply ``ops`` in order; a failing operation gives an error result and the others still apply."""
    name, key = split_entity_id(entity_id)
    if fn is None:
        error = {"isError": True, "result": json.dumps(f"The entity '{name}' does not exist in this app.")}
        return BatchResult(state, exists, [error for _ in ops])
    body = json.dumps(
        {
            "self": {"name": name, "key": key},
            "state": state,
            "exists": exists,
            # The extension encodes operation inputs twice: a JSON string holding JSON text.
            "batch": [
                {"name": op["name"], "input": json.dumps(op.get("input")), "isSignal": op["isSignal"]}
                for op in ops
            ],
        }
    )
    try:
        out = json.loads(fn(body))
    except Exception as exc:  # the SDK rejected the batch as a whole
        error = {"isError": True, "result": json.dumps(f"{type(exc).__name__}: {exc}")}
        return BatchResult(state, exists, [error for _ in ops])
    results = out.get("results") or []
    results += [{"isError": True, "result": json.dumps("no result")}] * (len(ops) - len(results))
    return BatchResult(out.get("entityState"), bool(out.get("entityExists")), results)
