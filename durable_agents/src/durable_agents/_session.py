"""The session entity: one per (agent, session id), holding the conversation.

State: the messages, a running summary of compacted turns, usage totals, times, and the queue of turns: the
runs of this session in arrival order, the first of which holds the turn (it alone runs; the others wait).
The entity is the only writer of a conversation; runs read it from activities (never through orchestration
history, so a run's history does not grow with the conversation) and append their new messages at the end,
which also hands the turn on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df

ENTITY_NAME = "session"
USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")


def entity_id(agent: str, session_id: str) -> df.EntityId:
    return df.EntityId(ENTITY_NAME, f"{agent}:{session_id}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def add_usage(total: dict[str, int], more: dict[str, int]) -> dict[str, int]:
    return {k: int(total.get(k, 0)) + int(more.get(k, 0)) for k in USAGE_KEYS}


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """A rough token count (4 characters a token) used to decide when to compact."""
    return sum(len(str(m.get("content") or "")) + len(str(m.get("tool_calls") or "")) for m in messages) // 4


def new_state(agent: str, session_id: str) -> dict[str, Any]:
    now = _now()
    return {"agent": agent, "session_id": session_id, "messages": [], "summary": None,
            "usage": dict.fromkeys(USAGE_KEYS, 0), "turns": 0, "compacted_messages": 0,
            "created": now, "updated": now, "queue": []}


def _queue(state: dict[str, Any]) -> list[dict[str, Any]]:
    return state.setdefault("queue", [])


def _join(state: dict[str, Any], run_id: str) -> None:
    if all(entry["run_id"] != run_id for entry in _queue(state)):
        _queue(state).append({"run_id": run_id, "queued_at": _now()})


def _leave(state: dict[str, Any], run_id: str) -> dict[str, Any]:
    """Take ``run_id`` out of the queue; says which run holds the turn now."""
    state["queue"] = [entry for entry in _queue(state) if entry["run_id"] != run_id]
    return {"next": state["queue"][0]["run_id"] if state["queue"] else None}


def _turn(state: dict[str, Any]) -> dict[str, Any]:
    head = _queue(state)[0]
    waited = (datetime.now(UTC) - datetime.fromisoformat(head["queued_at"])).total_seconds()
    return {"holder": head["run_id"], "holder_queued_seconds": waited}


def _kept(state: dict[str, Any]) -> dict[str, Any] | None:
    """The state to store: none for a session no turn has finished in and none waits on."""
    return state if state["turns"] or state.get("summary") or _queue(state) else None


def apply(state: dict[str, Any] | None, operation: str, value: Any, key: str) -> tuple[dict[str, Any] | None, Any]:
    """One operation on a session's state: (new state or None to delete, result)."""
    agent, _, session_id = key.partition(":")
    current = state or new_state(agent, session_id)
    if operation == "append":
        current["messages"] = current["messages"] + list(value["messages"])
        current["usage"] = add_usage(current["usage"], value.get("usage") or {})
        current["turns"] += 1
        current["updated"] = _now()
        handed = _leave(current, value["run_id"]) if value.get("run_id") else {"next": None}
        return current, {"messages": len(current["messages"]),
                         "estimated_tokens": estimate_tokens(current["messages"]), **handed}
    if operation == "enqueue":
        _join(current, value)
        return current, None
    if operation == "begin_turn":
        _join(current, value)
        return current, _turn(current)
    if operation == "end_turn":
        handed = _leave(current, value)
        return _kept(current), handed
    if operation == "read":
        return state, state
    if operation == "reset":
        # Runs still queued keep their places: forgetting them would leave them waiting forever.
        return (None if not (state or {}).get("queue") else {**new_state(agent, session_id), "queue": state["queue"]},
                None)
    if operation == "compact":
        drop = int(value["drop"])
        current["messages"] = current["messages"][drop:]
        current["summary"] = value["summary"]
        current["compacted_messages"] += drop
        current["updated"] = _now()
        return current, {"messages": len(current["messages"])}
    if operation == "expire_if_idle":
        if state is None:
            return None, {"expired": True}
        ttl = timedelta(seconds=float(value["ttl_seconds"]))
        if state.get("queue"):  # a session with a turn running or waiting is not idle
            return state, {"expired": False, "due": (datetime.now(UTC) + ttl).isoformat()}
        due = datetime.fromisoformat(state["updated"]) + ttl
        if datetime.now(UTC) >= due:
            return None, {"expired": True}
        return state, {"expired": False, "due": due.isoformat()}
    raise ValueError(f"the session entity has no operation {operation!r}")


def session_entity(context: df.DurableEntityContext) -> None:
    """The entity function: dispatches to ``apply`` and stores what it returns."""
    state, result = apply(context.get_state(lambda: None), context.operation_name, context.get_input(),
                          context.entity_key)
    # set_result marks the entity as existing, so it must come before destruct_on_exit.
    context.set_result(result)
    if state is None:
        context.destruct_on_exit()
    else:
        context.set_state(state)
