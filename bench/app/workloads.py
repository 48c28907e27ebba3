"""The bench-peers workloads as Durable Functions: chain (W1), fan-out (W2), sequential no-ops (W3).

A blueprint, so that the same functions run on devhost (``function_app.py`` registers it) and on a self-hosted
Durable Task worker (``worker.py`` gives it to an ``AgentWorker``).
"""

import time

import azure.durable_functions as df

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    value = spec["input"]
    for i in range(spec["steps"]):
        value = yield context.call_activity("chain_step", [value, i])
    return value


@bp.activity_trigger(input_name="arg")
def chain_step(arg: list) -> str:
    return f"{arg[0]}-{arg[1]}"


@bp.orchestration_trigger(context_name="context")
def fanout(context: df.DurableOrchestrationContext):
    results = yield context.task_all([context.call_activity("fan_step", i) for i in range(context.get_input())])
    return sum(results)


@bp.activity_trigger(input_name="i")
def fan_step(i: int) -> int:
    return i


@bp.orchestration_trigger(context_name="context")
def sequential(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    value = spec["input"]
    for _ in range(spec["steps"]):
        value = yield context.call_activity("noop_step", value)
    return value


@bp.activity_trigger(input_name="value")
def noop_step(value: str) -> str:
    return value


@bp.entity_trigger(context_name="context", entity_name="Sleeper")
def sleeper(context: df.DurableEntityContext):
    """An operation that holds its thread for ``input`` seconds, as an entity calling a model does."""
    time.sleep(context.get_input())
    context.set_state(context.get_state(lambda: 0) + 1)
