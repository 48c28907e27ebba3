"""``AgentWorker``: the agents, their runtime and their HTTP API on a self-hosted Durable Task worker."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, wait
from typing import Any

import azure.functions as func
import uvicorn
from durabletask.worker import ConcurrencyOptions, TaskHubGrpcWorker

from .._a2a.remote import RemoteAgent
from .._agent import Agent
from .._app import AgentFunctionApp
from ._activity import activity
from ._client import DurableClient
from ._connection import Connection, resolve
from ._context import orchestrator
from ._entity import entity
from ._functions import discover
from ._http import HttpApi
from ._loop import UserLoop
from ._run_client import WorkerClient

# Each running activity holds one of the SDK's pool threads (async ones while they run on the UserLoop), and each
# sync tool one of the loop's: both pools are sized for many concurrent steps rather than the CPU count + 4.
THREADS = 32
HTTP_START_SECONDS = 10.0


class AgentWorker:
    """The same agents and workflows as ``AgentFunctionApp(agents, workflows)``, hosted by a Durable Task worker.

    Everything ``AgentFunctionApp`` registers is registered on a ``durabletask`` worker under the same names, from
    the same functions: the ``agent_run`` loop and the other orchestrators, every model and tool step as an
    activity, the ``session`` entity. So what is durable, replayed and deterministic is what it is on Functions:
    every model call and tool call is a step committed by the scheduler before the next starts; orchestrators
    (workflows too) are replayed from history and must be deterministic; a session's conversation lives in its
    entity. ``blueprints`` adds functions of your own (``df.Blueprint``), as ``register_functions`` does.

    Connects to ``host_address`` (a sidecar such as ``devhost scheduler``, task hub ``taskhub``) or to a Durable
    Task Scheduler by ``connection_string`` (``Endpoint=...;Authentication=None|ManagedIdentity|DefaultAzure;
    TaskHub=...``); with neither, to ``DURABLE_TASK_SCHEDULER_CONNECTION_STRING`` (hub: ``TASKHUB_NAME``). With
    ``http_port`` it also serves the app's HTTP API (``/api/agents/{agent}/run``, ``/api/runs/{id}``, streams...)
    from the same handlers, at ``http_url``; ``asgi`` is that API as an ASGI app to serve yourself. Attributes may
    be changed until ``start()``. Use it as a context manager, or ``start()`` and ``stop()``.
    """

    def __init__(self, agents: Iterable[Agent | RemoteAgent], workflows: Iterable[Callable[..., Any]] = (), *,
                 blueprints: Iterable[Any] = (), host_address: str | None = None,
                 connection_string: str | None = None, taskhub: str | None = None, http_host: str = "127.0.0.1",
                 http_port: int | None = None, concurrency_options: ConcurrencyOptions | None = None) -> None:
        app = AgentFunctionApp(agents, workflows, http_auth_level=func.AuthLevel.ANONYMOUS)
        for blueprint in blueprints:
            app.register_functions(blueprint)
        self.functions = discover(app)
        self.host_address, self.connection_string, self.taskhub = host_address, connection_string, taskhub
        self.http_host, self.http_port = http_host, http_port
        self.concurrency_options = concurrency_options or ConcurrencyOptions(maximum_thread_pool_workers=THREADS)
        self.asgi = HttpApi(self.functions.routes, self.durable_client)
        self._loop = UserLoop(THREADS)
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._durable: DurableClient | None = None
        self._worker: TaskHubGrpcWorker | None = None
        self._server: uvicorn.Server | None = None
        self._serving: Future[None] | None = None

    @property
    def connection(self) -> Connection:
        """Where the worker and its clients connect, resolved on first use."""
        with self._lock:
            if self._connection is None:
                self._connection = resolve(self.host_address, self.connection_string, self.taskhub)
            return self._connection

    @property
    def http_url(self) -> str | None:
        """The HTTP API's origin (without ``/api``) while it is served, else None."""
        return f"http://{self.http_host}:{self.http_port}" if self._server is not None else None

    def durable_client(self) -> DurableClient:
        """The durable client every activity, HTTP handler and ``client()`` uses: one gRPC channel per worker."""
        connection = self.connection
        with self._lock:
            if self._durable is None:
                self._durable = DurableClient(connection.client())
            return self._durable

    def client(self) -> WorkerClient:
        """Start runs, follow streams, approve and read sessions on this worker's task hub, from this process.

        Needs no running worker here: a worker process with the same agents carries the runs out.
        """
        return WorkerClient(self.durable_client, self._loop, self.http_url or "")

    def start(self) -> AgentWorker:
        """Connect to the scheduler and take work; serve the HTTP API too when ``http_port`` is set."""
        if self._worker is not None:
            raise RuntimeError("the worker is already running")
        worker = self.connection.worker(concurrency_options=self.concurrency_options)
        for name, fn in self.functions.orchestrators.items():
            worker.add_orchestrator(orchestrator(fn, name))
        for spec in self.functions.activities:
            worker.add_activity(activity(spec.fn, spec.name, spec.input_arg, spec.client_arg, self.durable_client,
                                         self._loop))
        for name, fn in self.functions.entities.items():
            worker.add_entity(entity(fn), name=name)
        worker.start()
        self._worker = worker
        if self.http_port is not None:
            self._serve_http()
        return self

    def _serve_http(self) -> None:
        # The socket is bound here so that a port in use is an error of start(), not of uvicorn's thread.
        # IPPROTO_TCP named, so that asyncio gives each accepted connection TCP_NODELAY: without it every answer
        # waits for the client's delayed ACK (about 40 ms on Linux).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.http_host, self.http_port or 0))
        except OSError:
            sock.close()
            self.stop()
            raise
        self.http_port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(self.asgi, log_level="warning", lifespan="on"))
        self._server, self._serving = server, self._loop.submit(server.serve(sockets=[sock]))
        deadline = time.monotonic() + HTTP_START_SECONDS
        while not server.started:
            if self._serving.done() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the HTTP API did not start on {self.http_host}:{self.http_port}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and working: work in progress is abandoned to the scheduler, which offers it again."""
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            wait([self._serving], timeout=HTTP_START_SECONDS)
        self._server = self._serving = None
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        with self._lock:
            durable, self._durable = self._durable, None
        if durable is not None:
            durable.sdk.close()
        self._loop.close()

    def describe(self) -> str:
        """What this worker hosts and where it connects, in a few lines."""
        f = self.functions
        lines = [f"durable-agents worker for {self.connection.describe()}",
                 f"  orchestrators: {len(f.orchestrators)}, activities: {len(f.activities)}, "
                 f"entities: {len(f.entities)}"]
        if self.http_url:
            lines.append(f"  HTTP API at {self.http_url}/api ({len(f.routes)} routes; auth levels not enforced)")
        if f.unserved:
            kinds = Counter(f.unserved.values())
            lines.append("  not run by a worker: " + ", ".join(f"{n} {kind} function(s)" for kind, n in kinds.items()))
        return "\n".join(lines)

    def __enter__(self) -> AgentWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
