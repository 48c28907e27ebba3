"""An app whose orchestrations report their versions; host.json's versioning settings are the test's to write."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.orchestration_trigger(context_name="context")
def versions(context: df.DurableOrchestrationContext):
    """Its own version, a child's without asking for one, and a child's asked for by name."""
    inherited = yield context.call_sub_orchestrator("own_version")
    explicit = yield context.call_sub_orchestrator("own_version", version="1.1")
    return {"own": context.version, "child": inherited, "explicit_child": explicit}


@app.orchestration_trigger(context_name="context")
def own_version(context: df.DurableOrchestrationContext):
    return context.version
    yield  # a generator, as orchestrators are


@app.orchestration_trigger(context_name="context")
def continues(context: df.DurableOrchestrationContext):
    if context.get_input():
        context.continue_as_new(False)
        return None
    return context.version


@app.route(route="start/{version}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_with_version(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> str:
    return await client.start_new("own_version", version=req.route_params["version"])
