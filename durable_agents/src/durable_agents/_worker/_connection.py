"""Where a worker connects: a sidecar's gRPC address, or a Durable Task Scheduler connection string.

A connection string is ``Endpoint=<url>;Authentication=None|ManagedIdentity|DefaultAzure[;ClientID=<id>]
[;TaskHub=<hub>]``, as the Durable Task Scheduler and its emulator print it; the task hub, when the string does not
name one, is ``TASKHUB_NAME``. With a plain address the hub goes as the ``taskhub`` gRPC metadata, as a plain
``TaskHubGrpcWorker`` sends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core.credentials import TokenCredential
from durabletask.azuremanaged.client import DurableTaskSchedulerClient
from durabletask.azuremanaged.worker import DurableTaskSchedulerWorker
from durabletask.client import TaskHubGrpcClient
from durabletask.worker import TaskHubGrpcWorker

from .. import _settings as settings
from .._errors import AgentError

DEFAULT_TASKHUB = "default"  # the emulator's and `devhost scheduler`'s hub
AUTHENTICATIONS = ("None", "ManagedIdentity", "DefaultAzure")


@dataclass(frozen=True)
class Connection:
    """A scheduler to work for: ``address`` (a URL, or host:port), its task hub and how to authenticate."""

    address: str
    taskhub: str
    authentication: str | None = None  # None: a plain sidecar address, no connection string
    client_id: str | None = None

    def describe(self) -> str:
        how = f"Authentication={self.authentication}" if self.authentication else "plain gRPC"
        return f"task hub {self.taskhub!r} at {self.address} ({how})"

    def _credential(self) -> TokenCredential | None:
        from azure.identity import DefaultAzureCredential, ManagedIdentityCredential  # as _model: when used

        if self.authentication == "ManagedIdentity":
            return ManagedIdentityCredential(client_id=self.client_id) if self.client_id else \
                ManagedIdentityCredential()
        if self.authentication == "DefaultAzure":
            return DefaultAzureCredential(managed_identity_client_id=self.client_id)
        return None

    def _secure(self) -> bool:
        return not self.address.lower().startswith("http://")

    def worker(self, **options: Any) -> TaskHubGrpcWorker:
        if self.authentication is None:
            return TaskHubGrpcWorker(host_address=self.address, metadata=[("taskhub", self.taskhub)], **options)
        return DurableTaskSchedulerWorker(host_address=self.address, taskhub=self.taskhub,
                                          token_credential=self._credential(), secure_channel=self._secure(), **options)

    def client(self) -> TaskHubGrpcClient:
        if self.authentication is None:
            return TaskHubGrpcClient(host_address=self.address, metadata=[("taskhub", self.taskhub)])
        return DurableTaskSchedulerClient(host_address=self.address, taskhub=self.taskhub,
                                          token_credential=self._credential(), secure_channel=self._secure())


def parse_connection_string(text: str, taskhub: str | None) -> Connection:
    """A connection from a Durable Task Scheduler connection string; a bad one is an AgentError saying why."""
    fields: dict[str, str] = {}
    for part in text.split(";"):
        if part.strip():
            key, sep, value = part.partition("=")
            if not sep:
                raise AgentError("InvalidConnectionString", f"{part.strip()!r} is not Name=value")
            fields[key.strip().lower()] = value.strip()
    endpoint = fields.get("endpoint")
    if not endpoint:
        raise AgentError("InvalidConnectionString", "the connection string has no Endpoint=...")
    authentication = next((a for a in AUTHENTICATIONS if a.lower() == fields.get("authentication", "").lower()), None)
    if authentication is None:
        raise AgentError("InvalidConnectionString", f"Authentication={fields.get('authentication', '')!r} is not "
                         f"supported; use one of {', '.join(AUTHENTICATIONS)}")
    return Connection(endpoint, fields.get("taskhub") or taskhub or DEFAULT_TASKHUB, authentication,
                      fields.get("clientid"))


def resolve(host_address: str | None, connection_string: str | None, taskhub: str | None) -> Connection:
    """The connection the arguments name, else ``DURABLE_TASK_SCHEDULER_CONNECTION_STRING`` and ``TASKHUB_NAME``."""
    config = settings.load()
    taskhub = taskhub or config.taskhub_name
    if not host_address:
        connection_string = connection_string or config.durable_task_scheduler_connection_string
    if host_address and connection_string:
        raise AgentError("AmbiguousConnection", "give a host address or a connection string, not both")
    if host_address:
        return Connection(host_address, taskhub or DEFAULT_TASKHUB)
    if connection_string:
        return parse_connection_string(connection_string, taskhub)
    raise AgentError("NoConnection", "the worker has no scheduler to connect to: pass host_address= or "
                     "connection_string=, or set DURABLE_TASK_SCHEDULER_CONNECTION_STRING "
                     "(e.g. Endpoint=http://localhost:8080;Authentication=None;TaskHub=default)")
