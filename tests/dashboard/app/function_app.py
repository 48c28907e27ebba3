"""A small app to look at in the dashboard: chains, a wait for an event, an approval, a failure, an entity."""

import time
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="name")
def hello(name: str) -> str:
    time.sleep(0.05)
    return f"Hello {name}"


@app.activity_trigger(input_name="reason")
def explode(reason: str) -> str:
    raise RuntimeError(reason)


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


@app.entity_trigger(context_name="context", entity_name="Tally")
def tally(context: df.DurableEntityContext):
    context.set_state(context.get_state(lambda: 0) + (context.get_input() or 1))
