"""A first durable workflow: greet several cities in sequence, each greeting its own durable step.

``POST /api/greetings`` with ``{"cities": ["Tokyo", "Lima"]}`` (optional) starts it and answers with
the output when it finishes within a few seconds, else 202 with the status links.
"""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()
DEFAULT_CITIES = ["Tokyo", "Seattle", "London"]


@bp.route(route="greetings", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def start_greetings(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start the ``greetings`` orchestration and wait up to 5 s for its result."""
    try:
        body = req.get_json() if req.get_body() else {}
    except ValueError:
        return _error(400, "InvalidJson", "the body must be JSON, e.g. {\"cities\": [\"Tokyo\"]}")
    cities = body.get("cities", DEFAULT_CITIES) if isinstance(body, dict) else None
    if not isinstance(cities, list) or not cities or not all(isinstance(c, str) and c.strip() for c in cities):
        return _error(400, "InvalidCities", "cities must be a non-empty list of non-empty strings")
    if len(cities) > 50:
        return _error(413, "TooManyCities", "at most 50 cities per request")
    instance_id = await client.start_new("greetings", client_input=cities)
    return await client.wait_for_completion_or_create_check_status_response(
        req, instance_id, timeout_in_milliseconds=5000, retry_interval_in_milliseconds=100
    )


@bp.orchestration_trigger(context_name="context")
def greetings(context: df.DurableOrchestrationContext):
    """Each greeting is an activity: a restart resumes after the last finished one."""
    greetings = []
    for city in context.get_input():
        greetings.append((yield context.call_activity("greet", city)))
    return greetings


@bp.activity_trigger(input_name="city")
def greet(city: str) -> str:
    """Say hello to one city."""
    return f"Hello, {city.strip()}!"


def _error(status: int, code: str, message: str) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"error": {"code": code, "message": message}}), status_code=status,
                             mimetype="application/json")
