"""Run an app's agents on a self-hosted Durable Task worker: ``python -m durable_agents.worker --app MODULE:NAME``.

``NAME`` is an ``AgentWorker`` in ``MODULE`` (e.g. ``agent_app.worker:worker``). The flags override what it was
built with: ``--host-address`` (a sidecar, e.g. ``localhost:8080``) or ``--connection-string``
(``Endpoint=...;Authentication=...;TaskHub=...``), ``--taskhub``, and ``--http-port`` to serve the HTTP API. It
prints where it connects and works until SIGINT or SIGTERM, then stops: work in progress goes back to the
scheduler, which offers it again.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading

from ._errors import AgentError
from ._worker import AgentWorker


def load(target: str) -> AgentWorker:
    """The ``AgentWorker`` named by ``MODULE:NAME``."""
    module_name, _, name = target.partition(":")
    found = getattr(importlib.import_module(module_name), name or "worker", None)
    if not isinstance(found, AgentWorker):
        raise SystemExit(f"{target}: no AgentWorker there (give --app MODULE:NAME, e.g. agent_app.worker:worker)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m durable_agents.worker", description=__doc__.split("\n")[0])
    parser.add_argument("--app", required=True, help="MODULE:NAME of an AgentWorker, e.g. agent_app.worker:worker")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--host-address", help="a Durable Task sidecar's gRPC address, e.g. localhost:8080")
    where.add_argument("--connection-string", help="a Durable Task Scheduler connection string")
    parser.add_argument("--taskhub", help="the task hub (default: the connection string's, else TASKHUB_NAME)")
    parser.add_argument("--http-port", type=int, help="serve the app's HTTP API on this port (0: any free one)")
    parser.add_argument("--http-host", help="the HTTP API's interface (default 127.0.0.1)")
    args = parser.parse_args(argv)

    worker = load(args.app)
    if args.host_address or args.connection_string:
        worker.host_address, worker.connection_string = args.host_address, args.connection_string
    worker.taskhub = args.taskhub or worker.taskhub
    worker.http_port = args.http_port if args.http_port is not None else worker.http_port
    worker.http_host = args.http_host or worker.http_host

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        worker.start()
    except AgentError as exc:
        print(f"durable-agents worker: {exc.message}", file=sys.stderr)
        return 2
    print(worker.describe(), flush=True)
    stopping.wait()
    print("durable-agents worker: stopping", flush=True)
    worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
