"""The second host: the library's durable core on a self-hosted Durable Task SDK worker (``durabletask``).

Adapters let the orchestrators, activities, entities and HTTP handlers that ``AgentFunctionApp`` registers run
unchanged on a ``durabletask`` worker: a df-shaped orchestration context, entity context and durable client over
the SDK's, and an ASGI app calling the same HTTP handlers. Nothing of the agent loop is written twice.
"""

from ._agent_worker import AgentWorker

__all__ = ["AgentWorker"]
