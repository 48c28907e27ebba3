"""``python -m devhost``: serve a Functions app, Durable Functions included, on this machine."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import uvicorn

from . import dashboard, offline_model
from .config import HUB_NAME, ConfigError, load_host_config, load_local_settings
from .data_lock import DataDirInUse, lock_data_dir
from .durable.client_binding import WEBHOOK_PATH
from .durable.engine import Engine
from .durable.store import Store
from .functions import AppLoadError, FunctionIndex, load_app
from .invoker import Invoker
from .keys import load_keys
from .ncrontab import ScheduleError
from .routes import RouteError
from .server import Host
from .sidecar.server import GrpcPortInUse, Sidecar, check_port

SCHEDULER_HUB = "default"  # the Durable Task Scheduler emulator's default task hub


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devhost",
        description="Run a Python Azure Functions app (v2 model) with Durable Functions locally.",
    )
    parser.add_argument("--app-dir", default=".", help="folder holding function_app.py (default: .)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7071, help="port to listen on (default: 7071)")
    parser.add_argument("--data-dir", help="where durable state and keys live (default: APP_DIR/.devhost)")
    parser.add_argument("--enforce-auth", action="store_true",
                        help="require function/admin keys as Azure does (func start does not)")
    parser.add_argument("--grpc-port", type=int,
                        help="also serve the Durable Task sidecar gRPC protocol on this port, for Durable Task SDK "
                             "workers and clients (durabletask, durabletask-azuremanaged)")
    return parser


def _scheduler_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="devhost scheduler",
        description="Serve the Durable Task sidecar gRPC protocol with no Functions app, as the Durable Task "
                    "Scheduler emulator does: Durable Task SDK workers and clients connect here; the dashboard "
                    "and the Durable management API are served on --http-port.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="gRPC port (default: 8080, as the emulator's)")
    parser.add_argument("--http-port", type=int, default=8082,
                        help="dashboard and management API port (default: 8082, as the emulator's dashboard)")
    parser.add_argument("--data-dir", default=".devhost-scheduler",
                        help="where durable state lives (default: ./.devhost-scheduler)")
    parser.add_argument("--task-hub", default=SCHEDULER_HUB,
                        help=f"the task hub of calls that name none (default: {SCHEDULER_HUB})")
    return parser


def _listing(functions: FunctionIndex, host: Host, base_url: str) -> str:
    lines = ["", "Functions:", ""]
    for route, target in host.routes:
        methods = ",".join(sorted(target.methods)) if target.methods else "GET,POST,PUT,DELETE,..."
        lines.append(f"        {target.function.name}: [{methods}] {base_url}{route.path}")
    for function in functions.functions:
        if function.trigger_type != "httpTrigger":
            lines.append(f"        {function.name}: {function.trigger_type}")
    for function in functions.unsupported:
        lines.append(f"        (not run by devhost: {function.name}, {function.trigger_type})")
    return "\n".join(lines) + "\n"


# Listening on these means every interface.
_WILDCARDS = ("0.0.0.0", "::")


def _base_url(bind: str, port: int) -> str:
    """Where this machine reaches devhost: a wildcard bind is reached at loopback; IPv6 goes in brackets."""
    host = "127.0.0.1" if bind in _WILDCARDS else bind
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class PortInUse(Exception):
    """The address devhost should listen on is taken."""


def _listen(host: str, port: int) -> socket.socket:
    """Bind before anything starts, so that a taken port stops devhost at once, with nothing run yet."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening now, not later in the server: two hosts starting together cannot both get this far.
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"cannot listen on {host}:{port}: the port is in use (another devhost or func start?); "
                            f"stop that one or pick another port with --port") from None
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}; check --host") from None
    return sock


def _trusted_hosts(bind: str) -> frozenset[str] | None:
    """The host names devhost's API answers to: this machine's own, unless it listens on every interface."""
    if bind in _WILDCARDS:
        return None
    return frozenset({"127.0.0.1", "localhost", "::1", bind.lower()})  # host names compare in lower case


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(name)s: %(message)s")
    for chatty in ("httpx", "httpx2", "azure.core.pipeline.policies.http_logging_policy"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def _grpc_lines(sidecar: Sidecar, hub: str) -> str:
    return (f"Durable Task gRPC (TaskHubSidecarService): {sidecar.address}   task hub of calls naming none: {hub}\n"
            f"  DURABLE_TASK_SCHEDULER_CONNECTION_STRING=Endpoint=http://{sidecar.address};Authentication=None;"
            f"TaskHub={hub}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["scheduler"]:
        return _scheduler(argv[1:])
    args = _parser().parse_args(argv)
    app_dir = Path(args.app_dir).resolve()
    data_dir = Path(args.data_dir).resolve() if args.data_dir else app_dir / ".devhost"
    _logging()
    base_url = _base_url(args.host, args.port)
    try:
        lock = lock_data_dir(data_dir)
        listener = _listen(args.host, args.port)
        if args.grpc_port is not None:
            check_port(args.host, args.grpc_port)
        load_local_settings(app_dir)
        # Apps find devhost's offline model through this setting and use it only when nothing else is configured.
        if not os.environ.get("DEVHOST_OFFLINE_MODEL_URL"):
            os.environ["DEVHOST_OFFLINE_MODEL_URL"] = base_url + offline_model.PATH
        config = load_host_config(app_dir)
        functions = load_app(app_dir)
        keys = load_keys(data_dir)
        store = Store(data_dir / "durable.sqlite3")
    except (ConfigError, AppLoadError, DataDirInUse, PortInUse, GrpcPortInUse) as exc:
        print(f"devhost: {exc}", file=sys.stderr)
        return 2
    invoker = Invoker()
    sidecar = Sidecar(args.host, args.grpc_port, config.hub_name) if args.grpc_port is not None else None
    engine = Engine(store, functions, invoker, extra_args=lambda f: host.extra_args(f), versioning=config.versioning,
                    remote=sidecar and sidecar.executor)
    try:
        host = Host(functions=functions, engine=engine, invoker=invoker, hub=config.hub_name,
                    route_prefix=config.route_prefix, keys=keys, enforce_auth=args.enforce_auth,
                    base_url=base_url, trusted_hosts=_trusted_hosts(args.host), sidecar=sidecar)
    except (RouteError, ScheduleError) as exc:
        print(f"devhost: {exc}", file=sys.stderr)
        return 2
    print(_listing(functions, host, base_url), flush=True)
    print(f"Task hub: {config.hub_name}   data: {data_dir}   "
          f"(SQLite, journal_mode=WAL, synchronous=FULL)", flush=True)
    print(f"Durable management API: {base_url}{WEBHOOK_PATH}/", flush=True)
    print(f"Dashboard: {base_url}{dashboard.PATH}/", flush=True)
    print(f"Offline model (canned answers, no network; DEVHOST_OFFLINE_MODEL_URL): {base_url}{offline_model.PATH}",
          flush=True)
    if sidecar is not None:
        print(_grpc_lines(sidecar, config.hub_name), flush=True)
    if args.enforce_auth:
        print(f"Keys (enforced; kept in {data_dir / 'keys.json'}):\n"
              f"  function: {keys.functionKey}\n  master:   {keys.masterKey}\n"
              f"  system:   {keys.systemKey}\n  mcp_extension: {keys.mcp_extension}", flush=True)
    else:
        print("Auth levels are not enforced (as with func start); use --enforce-auth to require keys.",
              flush=True)
    os.environ.setdefault("WEBSITE_HOSTNAME", urlsplit(base_url).netloc)
    return _serve(host, args.host, args.port, listener, store, lock, invoker)


def _scheduler(argv: list[str]) -> int:
    """``devhost scheduler``: the engine, the gRPC protocol, the dashboard and the management API; no app."""
    args = _scheduler_parser().parse_args(argv)
    data_dir = Path(args.data_dir).resolve()
    _logging()
    base_url = _base_url(args.host, args.http_port)
    try:
        if not HUB_NAME.fullmatch(args.task_hub):
            raise ConfigError(f"task hub name {args.task_hub!r} is invalid: use 3-50 letters and digits, "
                              "starting with a letter")
        lock = lock_data_dir(data_dir)
        listener = _listen(args.host, args.http_port)
        check_port(args.host, args.port)
        keys = load_keys(data_dir)
        store = Store(data_dir / "durable.sqlite3")
    except (ConfigError, DataDirInUse, PortInUse, GrpcPortInUse) as exc:
        print(f"devhost: {exc}", file=sys.stderr)
        return 2
    invoker = Invoker()
    functions = FunctionIndex(functions=[])
    sidecar = Sidecar(args.host, args.port, args.task_hub)
    engine = Engine(store, functions, invoker, extra_args=lambda f: {}, remote=sidecar.executor)
    host = Host(functions=functions, engine=engine, invoker=invoker, hub=args.task_hub, route_prefix="api",
                keys=keys, enforce_auth=False, base_url=base_url, trusted_hosts=_trusted_hosts(args.host),
                sidecar=sidecar)
    print(_grpc_lines(sidecar, args.task_hub), flush=True)
    print(f"Data: {data_dir} (SQLite, journal_mode=WAL, synchronous=FULL)", flush=True)
    print(f"Dashboard: {base_url}{dashboard.PATH}/   Durable management API: {base_url}{WEBHOOK_PATH}/", flush=True)
    return _serve(host, args.host, args.http_port, listener, store, lock, invoker)


def _serve(host: Host, bind: str, port: int, listener: socket.socket, store: Store, lock: IO[str] | None,
           invoker: Invoker) -> int:
    server = uvicorn.Server(uvicorn.Config(host, host=bind, port=port, lifespan="on",
                                           log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=5))
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler it found. With
    # these, that re-raise is a no-op: the store is closed and the exit code says a clean stop (0), not -15.
    signal.signal(signal.SIGTERM, _after_graceful_stop)
    signal.signal(signal.SIGINT, _after_graceful_stop)
    server.run(sockets=[listener])
    store.close()
    if lock is not None:
        lock.close()
    if invoker.busy:
        # The interpreter would wait at exit for these threads; what they do was never committed and runs again.
        print(f"devhost: stopped; {invoker.busy} function call(s) still running were abandoned and run again "
              "at the next start", file=sys.stderr, flush=True)
        os._exit(0)
    return 0


def _after_graceful_stop(signum: int, frame: object) -> None:
    """Called only when uvicorn hands a signal back after its graceful shutdown."""


if __name__ == "__main__":
    sys.exit(main())
