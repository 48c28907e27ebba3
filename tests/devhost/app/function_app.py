"""A test app exercising devhost's durable features through the real SDK."""

import asyncio
import json
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
STATE = Path(os.environ.get("TEST_STATE_DIR", "/tmp"))


@app.route(route="items/{id:int}", methods=["GET"])
def item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"id": int(req.route_params["id"]), "q": dict(req.params)}),
                             mimetype="application/json")


@app.route(route="greet/{name?}", methods=["GET"])
def greet_optional(req: func.HttpRequest) -> str:
    return f"hello {req.route_params.get('name') or 'nobody'}"


@app.route(route="files/{*path}", methods=["GET", "PUT"])
async def files(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"method": req.method, "path": req.route_params.get("path", "")}),
                             mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def slow_once(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("flaky", {"name": context.instance_id, "fails": 0, "delay": 2}))


@app.orchestration_trigger(context_name="context")
def asks_the_host_late(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("ask_the_host", {"name": context.instance_id, "delay": 2}))


@app.activity_trigger(input_name="arg")
@app.durable_client_input(client_name="client")
async def ask_the_host(arg: dict, client: df.DurableOrchestrationClient) -> str:
    """Uses its durable client after a while: at a graceful stop that comes first, it is still running then."""
    await asyncio.sleep(arg["delay"])
    status = await client.get_status(arg["name"])
    return f"{arg['name']} was {status.runtime_status.value}"


@app.route(route="boom", methods=["GET"])
def boom(req: func.HttpRequest) -> str:
    raise ValueError("kaboom")


@app.activity_trigger(input_name="arg")
def flaky(arg: dict) -> str:
    time.sleep(arg["delay"])
    counter = STATE / f"flaky-{arg['name']}"
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    if attempt <= arg["fails"]:
        raise ValueError(f"{arg['name']} attempt {attempt} fails")
    return f"{arg['name']} ok after {attempt}"


@app.orchestration_trigger(context_name="context")
def retries(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(10, 4)
    first = context.call_activity_with_retry("flaky", options, {"name": context.instance_id + "A", "fails": 2,
                                                                 "delay": 0.4})
    second = context.call_activity_with_retry("flaky", options, {"name": context.instance_id + "B", "fails": 1,
                                                                  "delay": 0.0})
    return (yield context.task_all([first, second]))


@app.orchestration_trigger(context_name="context")
def exhausted(context: df.DurableOrchestrationContext):
    return (yield context.call_activity_with_retry("flaky", df.RetryOptions(10, 2),
                                                   {"name": context.instance_id, "fails": 5, "delay": 0}))


@app.activity_trigger(input_name="name")
def step(name: str) -> str:
    return f"{name}!"


@app.orchestration_trigger(context_name="context")
def drifting(context: df.DurableOrchestrationContext):
    first = "step" if not (STATE / "drift").exists() else "flaky"
    yield context.call_activity(first, "a")
    yield context.wait_for_external_event("go")
    return "done"


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=context.get_input()))
    early = yield context.wait_for_external_event("early")
    return {"slept": True, "early": early}


@app.entity_trigger(context_name="context", entity_name="Counter")
def counter(context: df.DurableEntityContext):
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)
    context.set_result(value)


@app.timer_trigger(schedule="*/1 * * * * *", arg_name="timer", run_on_startup=True)
def ticker(timer: func.TimerRequest) -> None:
    with open(STATE / "ticks", "a") as ticks:
        ticks.write("tick\n")


@app.route(route="secret", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def secret(req: func.HttpRequest) -> str:
    return "opened"


@app.orchestration_trigger(context_name="context")
def countdown(context: df.DurableOrchestrationContext):
    n = context.get_input()
    if n > 0:
        context.continue_as_new(n - 1)
        return None
    response = yield context.call_http("GET", os.environ["TEST_BASE_URL"] + "/api/items/3?from=orchestration")
    return {"status": response["statusCode"], "body": json.loads(response["content"])}


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    try:
        yield context.call_sub_orchestrator_with_retry("exhausted", df.RetryOptions(10, 2))
    except Exception as exc:
        return f"child failed: {'attempt 2 fails' in str(exc)}"
    return "child succeeded"


@app.orchestration_trigger(context_name="context")
def orphan(context: df.DurableOrchestrationContext):
    """Calls a sub-orchestrator the app does not have: the failure arrives within the parent's own step."""
    try:
        yield context.call_sub_orchestrator("no_such_orchestrator", "x")
    except Exception as exc:
        return f"child failed: {exc}"
    return "child succeeded"


@app.activity_trigger(input_name="seen")
def remember(seen: dict) -> dict:
    return seen


@app.orchestration_trigger(context_name="context")
def replayed(context: df.DurableOrchestrationContext):
    """Values that must be the same in every replay, custom status, task_any and entities from an orchestration."""
    first = {"uuid": str(context.new_uuid()), "now": context.current_utc_datetime.isoformat()}
    recorded = yield context.call_activity("remember", first)
    context.set_custom_status({"stage": "waiting for go"})
    deadline = context.current_utc_datetime + timedelta(seconds=60)
    go, timeout = context.wait_for_external_event("go"), context.create_timer(deadline)
    winner = yield context.task_any([go, timeout])
    if winner == go:
        timeout.cancel()
    counter_id = df.EntityId("Counter", context.instance_id)
    context.signal_entity(counter_id, "add", 10)
    total = yield context.call_entity(counter_id, "add", 5)
    context.set_custom_status({"stage": "done"})
    second = {"uuid": str(context.new_uuid()), "now": context.current_utc_datetime.isoformat()}
    return {"first": first, "recorded": recorded, "second": second, "winner": "go" if winner == go else "timer",
            "go": go.result if winner == go else None, "total": total}


# User code that takes its time: devhost must run it off its engine, concurrently, as the Python worker does.

_BARRIERS: dict[str, threading.Barrier] = {}
_BARRIERS_LOCK = threading.Lock()
RELEASE = threading.Event()


def meet(group: str, parties: int) -> None:
    """Wait until ``parties`` calls of ``group`` are running at the same time (fails after 20 s alone)."""
    with _BARRIERS_LOCK:
        barrier = _BARRIERS.setdefault(group, threading.Barrier(parties, timeout=20))
    barrier.wait()


@app.entity_trigger(context_name="context", entity_name="Meeter")
def meeter(context: df.DurableEntityContext):
    """``meet {"group", "parties"}`` returns only once that many operations run at once, on as many entities."""
    arg = context.get_input()
    meet(arg["group"], arg["parties"])
    context.set_state(context.get_state(lambda: 0) + 1)
    context.set_result("met")


@app.entity_trigger(context_name="context", entity_name="Blocker")
def blocker(context: df.DurableEntityContext):
    """``block`` holds its thread until POST /api/release; ``count`` of operations applied is the state."""
    (STATE / f"blocked-{context.entity_key}").write_text("1")
    if not RELEASE.wait(timeout=60):
        raise TimeoutError("never released")
    context.set_state(context.get_state(lambda: 0) + 1)


@app.route(route="release", methods=["POST"])
def release(req: func.HttpRequest) -> str:
    RELEASE.set()
    return "released"


@app.orchestration_trigger(context_name="context")
def meeting(context: df.DurableOrchestrationContext):
    """An orchestrator whose first episode meets the other instances' first episodes."""
    arg = context.get_input()
    if not context.is_replaying:
        meet(arg["group"], arg["parties"])
    return (yield context.call_activity("step", arg["group"]))


@app.orchestration_trigger(context_name="context")
def uses_asyncio(context: df.DurableOrchestrationContext):
    """Runs an event loop of its own inside the orchestrator, as SDK integrations do."""

    async def double(value: int) -> int:
        await asyncio.sleep(0)
        return value * 2

    doubled = asyncio.run(double(context.get_input()))
    return (yield context.call_activity("step", str(doubled)))


@app.entity_trigger(context_name="context", entity_name="Recorder")
def recorder(context: df.DurableEntityContext):
    """Keeps the input of each operation under the operation's name."""
    context.set_state({**context.get_state(dict), context.operation_name: context.get_input()})
    context.set_result(context.get_input())


@app.route(route="record/{key}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def record_from_client(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> str:
    await client.signal_entity(df.EntityId("Recorder", req.route_params["key"]), "client", req.get_json())
    return "signalled"


@app.orchestration_trigger(context_name="context")
def record_from_orchestration(context: df.DurableOrchestrationContext):
    arg = context.get_input()
    recorder_id = df.EntityId("Recorder", arg["key"])
    context.signal_entity(recorder_id, "signal", arg["value"])
    return (yield context.call_entity(recorder_id, "call", arg["value"]))


@app.orchestration_trigger(context_name="context")
def fails_once(context: df.DurableOrchestrationContext):
    """Fails on its activity's first attempt (no retry); a rewind runs the activity again."""
    return (yield context.call_activity("flaky", {"name": context.instance_id, "fails": 1, "delay": 0}))


@app.orchestration_trigger(context_name="context")
def fails_twice_with_retry(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(10, 2)
    return (yield context.call_activity_with_retry("flaky", options, {"name": context.instance_id, "fails": 2,
                                                                      "delay": 0}))


@app.orchestration_trigger(context_name="context")
def parent_of_failing(context: df.DurableOrchestrationContext):
    before = yield context.call_activity("step", "before")
    child = yield context.call_sub_orchestrator("fails_once", instance_id=f"{context.instance_id}-child")
    return [before, child]


@app.orchestration_trigger(context_name="context")
def broken_until_fixed(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("step", "one")
    if (STATE / f"broken-{context.instance_id}").exists():
        raise RuntimeError("the orchestrator's own code failed")
    return first
