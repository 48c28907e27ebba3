"""The Functions app: builds the DFApp and registers the blueprints; nothing else."""

import azure.durable_functions as df
import azure.functions as func

from agents.functions import bp as agents
from orchestrations.agent_run import bp as agent_run
from orchestrations.greeting import bp as greeting
from orchestrations.session_expiry import bp as session_expiry

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (greeting, agents, agent_run, session_expiry):
    app.register_functions(blueprint)
