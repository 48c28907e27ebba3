"""The bench-peers workloads on a self-hosted Durable Task worker, from the same blueprint as function_app.py.

    python -m durable_agents.worker --app bench.app.worker:worker --host-address localhost:8080 --taskhub default

(from the repository's root, which ``-m`` puts on sys.path). No agents: the library's own orchestrators, steps and
routes are registered all the same, as ``AgentFunctionApp`` registers them, but nothing here starts them.
"""

from bench.app.workloads import bp
from durable_agents import AgentWorker

worker = AgentWorker(agents=[], blueprints=[bp])
