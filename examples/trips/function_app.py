"""A small trip-planning app on durable_agents: two agents, one tool, one workflow."""

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, Field

import durable_agents
from durable_agents import Agent, AgentError, AgentFunctionApp, tool

# Great-circle distances between a few cities, km (rounded).
DISTANCES = {frozenset(("lisbon", "porto")): 274, frozenset(("lisbon", "madrid")): 503,
             frozenset(("madrid", "porto")): 421}


@tool
def distance_km(origin: str, destination: str) -> int:
    """The distance between two of Lisbon, Porto and Madrid, in kilometres."""
    km = DISTANCES.get(frozenset((origin.strip().lower(), destination.strip().lower())))
    if km is None:
        raise AgentError("UnknownRoute", f"no distance known from {origin} to {destination}")
    return km


planner = Agent("planner", "Plans a day-by-day itinerary.",
                "Plan the trip day by day, briefly. Use distance_km to say how far each leg is.", tools=[distance_km])
packer = Agent("packer", "Writes a packing list.", "Write a short packing list for the trip you are given.")


class Trip(BaseModel):
    route: list[str] = Field(min_length=2, max_length=5)
    days: int = Field(ge=1, le=21)


@durable_agents.workflow("trip", input=Trip)
def plan_trip(context: df.DurableOrchestrationContext):
    """An itinerary, then a packing list for it: two agent runs, each a durable step of the workflow."""
    trip = context.get_input()
    itinerary = durable_agents.run(context, "planner", f"{trip['days']} days: {' -> '.join(trip['route'])}",
                                   tag="itinerary")
    plan = (yield itinerary)["response"]
    packing = durable_agents.run(context, "packer", f"Itinerary:\n{plan}", tag="packing")
    pack = (yield packing)["response"]
    return {"itinerary": plan, "packing": pack, "runs": [itinerary.run_id, packing.run_id]}


app = AgentFunctionApp(agents=[planner, packer], workflows=[plan_trip], http_auth_level=func.AuthLevel.ANONYMOUS)
