"""The scale benchmark's orchestrations: finished at once, waiting on an event, and one with a long history."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def finish(context: df.DurableOrchestrationContext):
    """Completes in its first episode: a finished instance with the smallest history."""
    return context.get_input()


@app.orchestration_trigger(context_name="context")
def waiter(context: df.DurableOrchestrationContext):
    """Stays Running until the event ``go`` is raised."""
    value = yield context.wait_for_external_event("go")
    return value


@app.orchestration_trigger(context_name="context")
def fanout(context: df.DurableOrchestrationContext):
    """N activities at once: N scheduled and N completed events, N shown in ``historyEvents``."""
    n = context.get_input()
    results = yield context.task_all([context.call_activity("echo", i) for i in range(n)])
    return len(results)


@app.activity_trigger(input_name="value")
def echo(value: int) -> str:
    return f"result {value}"
