"""Where a worker connects: connection strings, plain addresses, the settings, and the command line's answer."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from agent_app.agents import AGENTS
from durable_agents import AgentError, AgentWorker
from tests.fixtures.processes import REPO, Scheduler

from .conftest import Deployment, WorkerProcess


def connection(**arguments: str) -> tuple[str, str, str | None, str | None]:
    found = AgentWorker(agents=AGENTS, **arguments).connection
    return found.address, found.taskhub, found.authentication, found.client_id


def test_connection_strings_name_the_endpoint_authentication_identity_and_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKHUB_NAME", "fromsettings")
    monkeypatch.delenv("DURABLE_TASK_SCHEDULER_CONNECTION_STRING", raising=False)
    assert connection(connection_string="Endpoint=http://localhost:8080;Authentication=None;"
                      "TaskHub=default") == ("http://localhost:8080", "default", "None", None)
    # As Azure's: no hub in the string (TASKHUB_NAME names it), a user-assigned identity, any case of the names.
    assert connection(connection_string="endpoint=https://x.durabletask.io; authentication="
                      "managedidentity;ClientID=abc") == ("https://x.durabletask.io", "fromsettings",
                                                          "ManagedIdentity", "abc")
    monkeypatch.setenv("DURABLE_TASK_SCHEDULER_CONNECTION_STRING", "Endpoint=https://y;Authentication=DefaultAzure")
    assert connection() == ("https://y", "fromsettings", "DefaultAzure", None)
    assert connection(host_address="localhost:4001", taskhub="mine") == (
        "localhost:4001", "mine", None, None)


@pytest.mark.parametrize(("text", "code"), [
    ("Authentication=None;TaskHub=x", "InvalidConnectionString"),
    ("Endpoint=http://localhost:8080;Authentication=Password", "InvalidConnectionString"),
    ("Endpoint=http://localhost:8080;Authentication", "InvalidConnectionString"),
])
def test_a_bad_connection_string_says_what_is_wrong(monkeypatch: pytest.MonkeyPatch, text: str, code: str) -> None:
    with pytest.raises(AgentError) as bad:
        connection(connection_string=text)
    assert bad.value.code == code


def test_a_client_on_the_plain_address_reads_the_workers_hub(scheduler: Scheduler, deployment: Deployment,
                                                               agents: AgentWorker, worker: WorkerProcess) -> None:
    """The worker process reached the hub by connection string; a plain TaskHubGrpcClient sees the same runs."""
    run = agents.client().start("assistant", "hello")
    plain = AgentWorker(agents=AGENTS, host_address=scheduler.address, taskhub=deployment.hub)
    try:
        assert plain.client().run(run["run_id"])["run_id"] == run["run_id"]
    finally:
        plain.stop()


def test_the_command_line_says_where_to_connect_when_nothing_is_set() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"}
    done = subprocess.run([sys.executable, "-m", "durable_agents.worker", "--app", "agent_app.worker:worker"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "DURABLE_TASK_SCHEDULER_CONNECTION_STRING" in done.stderr
