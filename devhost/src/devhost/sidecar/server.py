"""The gRPC server: bound on the host's event loop beside the HTTP server, stopped after the engine."""

from __future__ import annotations

import errno
import logging
import socket

import durabletask.internal.orchestrator_service_pb2_grpc as stubs
import grpc

from ..durable.engine import Engine
from .dispatch import Dispatcher, RemoteExecutor
from .service import SidecarService

log = logging.getLogger("devhost.sidecar")
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # whole histories travel in one work item


class GrpcPortInUse(Exception):
    """The gRPC port devhost should listen on is taken."""


def check_port(host: str, port: int) -> None:
    """Fail at once, before anything starts, when the gRPC port cannot be bound (the real bind comes later)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    # Connections of a devhost killed a moment ago linger in TIME_WAIT on this port; only a listener means in use
    # (gRPC's own bind sets SO_REUSEADDR too).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise GrpcPortInUse(f"cannot serve gRPC on {host}:{port}: the port is in use (another devhost or a "
                                "Durable Task Scheduler emulator?); stop that one or pick another port") from None
        raise GrpcPortInUse(f"cannot serve gRPC on {host}:{port}: {exc.strerror or exc}") from None
    finally:
        sock.close()


class Sidecar:
    """The Durable Task sidecar protocol for one devhost: its dispatcher, the engine's remote executor, the server."""

    def __init__(self, host: str, port: int, default_hub: str) -> None:
        self.host, self.port, self.default_hub = host, port, default_hub
        self.dispatcher = Dispatcher()
        self.executor = RemoteExecutor(self.dispatcher)
        self._server: grpc.aio.Server | None = None

    @property
    def address(self) -> str:
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host
        return f"{host}:{self.port}"

    async def start(self, engine: Engine) -> None:
        # SO_REUSEPORT off: a second devhost on the same port must fail, not share the port with this one.
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0),
                                          ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
                                          ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES)])
        stubs.add_TaskHubSidecarServiceServicer_to_server(  # type: ignore[no-untyped-call]
            SidecarService(engine, self.dispatcher, self.default_hub), server)
        host = f"[{self.host}]" if ":" in self.host else self.host
        if not server.add_insecure_port(f"{host}:{self.port}"):
            raise GrpcPortInUse(f"cannot serve gRPC on {host}:{self.port}")
        await server.start()
        self._server = server

    def close(self) -> None:
        """Hand out no more work; completions of delivered work are still taken until ``stop``."""
        self.dispatcher.close()

    async def stop(self, grace: float = 1.0) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
