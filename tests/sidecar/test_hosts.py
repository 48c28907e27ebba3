"""Where the protocol is served: beside a Functions app (``--grpc-port``), and with the emulator's connection
string through durabletask-azuremanaged; gRPC instances show on the dashboard and the management API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from durabletask import client as dt_client
from durabletask import task
from durabletask.azuremanaged.client import DurableTaskSchedulerClient
from durabletask.azuremanaged.worker import DurableTaskSchedulerWorker
from durabletask.worker import TaskHubGrpcWorker

from tests.fixtures.processes import Devhost, free_port

from .conftest import Scheduler, running

APP = Path(__file__).resolve().parents[1] / "devhost" / "app"


def shout(ctx: task.ActivityContext, text: str) -> str:
    return text.upper()


def grpc_hello(ctx: task.OrchestrationContext, name: str) -> Any:
    return (yield ctx.call_activity(shout, input=f"hello {name}"))


def test_instances_started_over_grpc_show_on_the_dashboard_and_the_management_api(
        scheduler: Scheduler, hub: str, client: dt_client.TaskHubGrpcClient) -> None:
    with running(scheduler, hub, grpc_hello, shout):
        iid = client.schedule_new_orchestration(grpc_hello, input="dashboard")
        client.wait_for_orchestration_completion(iid, timeout=30)
    listed = httpx.get(f"{scheduler.url}/devhost/api/instances", params={"taskHub": hub}).json()
    assert [(i["instanceId"], i["name"], i["runtimeStatus"]) for i in listed] == [(iid, "grpc_hello", "Completed")]
    status = httpx.get(f"{scheduler.url}/runtime/webhooks/durabletask/instances/{iid}",
                       params={"taskHub": hub, "showHistory": "true"}).json()
    assert status["output"] == "HELLO DASHBOARD" and status["input"] == "dashboard"
    assert [e["EventType"] for e in status["historyEvents"]][0] == "ExecutionStarted"
    timeline = httpx.get(f"{scheduler.url}/devhost/api/instances/{iid}/timeline", params={"taskHub": hub})
    assert timeline.status_code == 200


def _connection(connection_string: str) -> tuple[str, str, bool]:
    """The connection string read as the durabletask-python samples read it (examples/sandboxes/main_app.py)."""
    settings = {}
    for segment in connection_string.split(";"):
        key, _, value = segment.partition("=")
        settings[key.strip().lower()] = value.strip()
    assert settings.get("authentication", "").lower() in ("", "none")
    endpoint = settings["endpoint"]
    return endpoint, settings["taskhub"], endpoint.lower().startswith(("https://", "grpcs://"))


def test_durabletask_azuremanaged_works_with_the_emulator_connection_string(scheduler: Scheduler, hub: str) -> None:
    printed = [line.split("=", 1)[1] for line in scheduler.log().splitlines()
               if "DURABLE_TASK_SCHEDULER_CONNECTION_STRING=" in line]
    assert printed == [f"Endpoint=http://localhost:{scheduler.port};Authentication=None;TaskHub=default"]
    endpoint, taskhub, secure = _connection(printed[0].replace("TaskHub=default", f"TaskHub={hub}"))
    worker = DurableTaskSchedulerWorker(host_address=endpoint, taskhub=taskhub, token_credential=None,
                                        secure_channel=secure)
    worker.add_orchestrator(grpc_hello)
    worker.add_activity(shout)
    with worker:
        worker.start()
        scheduler_client = DurableTaskSchedulerClient(host_address=endpoint, taskhub=taskhub, token_credential=None,
                                                      secure_channel=secure)
        iid = scheduler_client.schedule_new_orchestration(grpc_hello, input="scheduler")
        state = scheduler_client.wait_for_orchestration_completion(iid, timeout=30)
        scheduler_client.close()
    assert state is not None and state.get_output() == "HELLO SCHEDULER"
    # The task hub came from the connection: the instance is in that hub and no other.
    with dt_client.TaskHubGrpcClient(host_address=scheduler.address) as default_hub:
        assert default_hub.get_orchestration_state(iid) is None


@pytest.fixture(scope="module")
def app_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devhost]:
    tmp = tmp_path_factory.mktemp("app")
    (tmp / "state").mkdir()
    grpc_port = free_port()
    server = Devhost(app_dir=APP, data_dir=tmp / "data", env={"TEST_STATE_DIR": str(tmp / "state")},
                     args=["--grpc-port", str(grpc_port)])
    server.env["TEST_BASE_URL"] = server.url
    server.env["GRPC_PORT"] = str(grpc_port)
    server.start()
    yield server
    server.stop()


def test_grpc_beside_a_functions_app_shares_its_hub_and_store(app_host: Devhost) -> None:
    address = f"localhost:{app_host.env['GRPC_PORT']}"
    assert f"Durable Task gRPC (TaskHubSidecarService): {address}" in app_host.log()
    worker = TaskHubGrpcWorker(host_address=address)
    worker.add_orchestrator(grpc_hello)
    worker.add_activity(shout)
    worker.start()
    try:
        # No taskhub header: the app's own hub (host.json hubName devhosttests).
        with dt_client.TaskHubGrpcClient(host_address=address) as grpc_client:
            iid = grpc_client.schedule_new_orchestration(grpc_hello, input="app")
            state = grpc_client.wait_for_orchestration_completion(iid, timeout=30)
    finally:
        worker.stop()
    assert state is not None and state.get_output() == "HELLO APP"
    api = f"{app_host.url}/runtime/webhooks/durabletask"
    assert httpx.get(f"{api}/instances/{iid}").json()["output"] == "HELLO APP"
    # The app's own functions still run in process, through the same engine.
    assert httpx.get(f"{app_host.url}/api/items/7").json()["id"] == 7
    started = httpx.post(f"{api}/orchestrators/sleeper", json=0.1).json()
    assert httpx.post(started["sendEventPostUri"].replace("{eventName}", "early"), json=True).status_code == 202
    deadline = time.monotonic() + 30
    while (status := httpx.get(started["statusQueryGetUri"]).json())["runtimeStatus"] != "Completed":
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    assert status["output"] == {"slept": True, "early": True}
