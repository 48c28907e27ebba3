"""The Functions app: builds the DFApp and registers the blueprints; nothing else."""

import azure.durable_functions as df
import azure.functions as func

from agents.functions import bp as agents
from orchestrations import agent_run, chain, greeting, panel, review, run_stream, session_expiry, triage, workflows

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for module in (greeting, agent_run, run_stream, session_expiry, chain, panel, triage, review, workflows):
    app.register_functions(module.bp)
app.register_functions(agents)
