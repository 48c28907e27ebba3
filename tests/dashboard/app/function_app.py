"""A small app to look at in the dashboard: chains, a wait for an event, an approval, failures, entities."""

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
STATE = Path(os.environ.get("DASHBOARD_STATE_DIR", "/tmp"))


def _loaded(value):
    """JSON text as a value (the SDK may already have decoded it)."""
    return json.loads(value) if isinstance(value, str) else value


@app.activity_trigger(input_name="name")
def hello(name: str) -> str:
    time.sleep(0.05)
    return f"Hello {name}"


@app.activity_trigger(input_name="reason")
def explode(reason: str) -> str:
    raise RuntimeError(reason)


@app.activity_trigger(input_name="order")
def reserve(order: str) -> str:
    """Answers JSON text, as code that serialises its own results does."""
    return json.dumps({"reserved": _loaded(order)["items"], "warehouse": "north"})


@app.activity_trigger(input_name="key")
def fails_first_time(key: str) -> str:
    """Fails the first time it runs for ``key`` (a marker file remembers), then succeeds."""
    marker = STATE / f"failed-once-{key}"
    if not marker.exists():
        marker.write_text("1")
        raise RuntimeError(f"{key}: the first attempt fails")
    return f"{key} ok on a later attempt"


@app.orchestration_trigger(context_name="context")
def greetings(context: df.DurableOrchestrationContext):
    results = []
    for city in ["Tokyo", "Seattle", "London"]:
        results.append((yield context.call_activity("hello", city)))
    results.append((yield context.call_sub_orchestrator("single", "Paris", f"{context.instance_id}-child")))
    return results


@app.orchestration_trigger(context_name="context")
def single(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("hello", context.get_input()))


@app.orchestration_trigger(context_name="context")
def waiter(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "waiting for proceed"})
    data = yield context.wait_for_external_event("proceed")
    return {"received": data}


@app.orchestration_trigger(context_name="context")
def approver(context: df.DurableOrchestrationContext):
    """Publishes a pending approval in its custom status, the way the agent runs do."""
    context.set_custom_status({"status": "awaiting_approval",
                               "pending_approval": {"tool": "send_email", "arguments": {"to": "ada@example.com"},
                                                    "event": "approval:call-1"}})
    deadline = context.current_utc_datetime + timedelta(minutes=10)
    decision = context.wait_for_external_event("approval:call-1")
    winner = yield context.task_any([decision, context.create_timer(deadline)])
    context.set_custom_status({"status": "decided"})
    return {"approved": winner == decision and decision.result["approved"]}


@app.orchestration_trigger(context_name="context")
def failing(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("explode", "the reactor is too hot"))


@app.orchestration_trigger(context_name="context")
def checkout(context: df.DurableOrchestrationContext):
    """Its input, custom status and activity result are JSON text; it fails at the payment."""
    order = _loaded(context.get_input())
    context.set_custom_status(json.dumps({"step": "reserving", "order": order["order"]}))
    reserved = yield context.call_activity("reserve", json.dumps(order))
    yield context.call_sub_orchestrator("single", "Oslo", f"{context.instance_id}-ship")
    context.set_custom_status(json.dumps({"step": "charging", "reserved": _loaded(reserved)["reserved"]}))
    try:
        return (yield context.call_activity("explode", "card expired"))
    except Exception as exc:  # its own message, without the activity's traceback
        raise RuntimeError("payment declined: card expired") from exc


@app.orchestration_trigger(context_name="context")
def echo_text(context: df.DurableOrchestrationContext):
    """Waits for ``go`` and returns what came as JSON text."""
    data = yield context.wait_for_external_event("go")
    return json.dumps({"got": _loaded(data), "steps": [1, 2]})


@app.orchestration_trigger(context_name="context")
def rewindable(context: df.DurableOrchestrationContext):
    """Fails on its first run; rewound, the activity runs again and succeeds."""
    return (yield context.call_activity("fails_first_time", context.instance_id))


@app.entity_trigger(context_name="context", entity_name="Note")
def note(context: df.DurableEntityContext):
    """Keeps what it is given as JSON text: its state is a string."""
    context.set_state(json.dumps(_loaded(context.get_input())))


@app.entity_trigger(context_name="context", entity_name="Picky")
def picky(context: df.DurableEntityContext):
    if context.operation_name == "break":
        raise ValueError("picky refuses to break")
    context.set_state(context.get_input())


@app.entity_trigger(context_name="context", entity_name="Tally")
def tally(context: df.DurableEntityContext):
    context.set_state(context.get_state(lambda: 0) + (context.get_input() or 1))
