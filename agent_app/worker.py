"""The example app on a self-hosted Durable Task worker: the same agents and workflows as function_app.py.

    python -m durable_agents.worker --app agent_app.worker:worker --http-port 7072

connects to ``DURABLE_TASK_SCHEDULER_CONNECTION_STRING`` (e.g. ``devhost scheduler``'s
``Endpoint=http://localhost:8080;Authentication=None;TaskHub=default``) and serves the same HTTP API. function_app.py's
own ``greetings`` example (``workflows/greeting.py``) stays Functions-only: its route answers with the Durable
Functions management API's check-status links, which a worker does not serve.
"""

from agent_app.agents import AGENTS
from agent_app.workflows import WORKFLOWS
from durable_agents import AgentWorker

worker = AgentWorker(agents=AGENTS, workflows=WORKFLOWS)
