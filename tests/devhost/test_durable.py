"""devhost's durable engine through its HTTP API and the real SDK: retries, determinism, crashes, management."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.processes import Devhost

APP = Path(__file__).parent / "app"
TERMINAL = {"Completed", "Failed", "Terminated"}


def serve_test_app(tmp: Path) -> Devhost:
    """devhost on the test app, with a state folder of its own for the app's marker files."""
    state = tmp / "state"
    state.mkdir()
    server = Devhost(app_dir=APP, data_dir=tmp / "data", env={"TEST_STATE_DIR": str(state)})
    server.env["TEST_BASE_URL"] = server.url
    return server.start()


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devhost]:
    server = serve_test_app(tmp_path_factory.mktemp("devhost"))
    yield server
    server.stop()


@pytest.fixture
def api(host: Devhost) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{host.url}/runtime/webhooks/durabletask", timeout=30) as client:
        yield client


def wait(api: httpx.Client, instance_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = api.get(f"/instances/{instance_id}").json()
        if status["runtimeStatus"] in TERMINAL:
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def test_http_routes_and_a_failing_function(host: Devhost) -> None:
    assert httpx.get(f"{host.url}/api/items/7?x=1").json() == {"id": 7, "q": {"x": "1"}}
    assert httpx.get(f"{host.url}/api/items/seven").status_code == 404
    failed = httpx.get(f"{host.url}/api/boom")
    assert failed.status_code == 500 and failed.json()["error"]["code"] == "FunctionFailed"
    assert httpx.get(f"{host.url}/admin/host/status").json() == {"state": "Running"}


def test_retried_tasks_keep_their_own_results_when_the_second_fails_first(api: httpx.Client) -> None:
    api.post("/orchestrators/retries/r1")
    status = wait(api, "r1")
    assert status["output"] == ["r1A ok after 3", "r1B ok after 2"]


def test_a_retry_that_runs_out_of_attempts_fails_the_orchestration(api: httpx.Client) -> None:
    api.post("/orchestrators/exhausted/x1")
    status = wait(api, "x1")
    assert status["runtimeStatus"] == "Failed" and "x1 attempt 2 fails" in status["output"]


def test_a_non_deterministic_orchestrator_fails_clearly(host: Devhost, api: httpx.Client) -> None:
    api.post("/orchestrators/drifting/d1")
    deadline = time.monotonic() + 10
    while "TaskCompleted" not in str(api.get("/instances/d1?showHistory=true").json().get("historyEvents")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (Path(host.env["TEST_STATE_DIR"]) / "drift").write_text("1")
    try:
        api.post("/instances/d1/raiseEvent/go", json=True)
        status = wait(api, "d1")
    finally:
        (Path(host.env["TEST_STATE_DIR"]) / "drift").unlink()
    assert status["runtimeStatus"] == "Failed"
    assert "Non-deterministic" in status["output"] and "'step'" in status["output"] and "'flaky'" in status["output"]


@pytest.mark.slow
def test_a_timer_fires_after_a_kill_9_restart_and_buffered_events_are_kept(host: Devhost, api: httpx.Client) -> None:
    api.post("/orchestrators/sleeper/t1", json=2)
    assert api.post("/instances/t1/raiseEvent/early", json="before the wait").status_code == 202
    host.restart()
    with httpx.Client(base_url=f"{host.url}/runtime/webhooks/durabletask", timeout=30) as again:
        status = wait(again, "t1")
    assert status["output"] == {"slept": True, "early": "before the wait"}


def test_management_api_status_codes(api: httpx.Client) -> None:
    assert api.get("/instances/nope").status_code == 404
    assert api.post("/orchestrators/nosuch").status_code == 400
    assert api.post("/orchestrators/sleeper/m1", content=b"{bad").status_code == 400
    assert api.post("/orchestrators/sleeper/m1", json=60).status_code == 202
    assert api.post("/orchestrators/sleeper/m1", json=60).status_code == 409
    assert api.get("/instances/m1").status_code == 202
    assert api.post("/instances/m1/suspend").status_code == 202
    deadline = time.monotonic() + 10
    while api.get("/instances/m1").json()["runtimeStatus"] != "Suspended":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert api.post("/instances/m1/resume").status_code == 202
    assert api.delete("/instances/m1").status_code == 409
    assert api.post("/instances/m1/terminate?reason=enough").status_code == 202
    status = wait(api, "m1")
    assert status["runtimeStatus"] == "Terminated" and status["output"] == "enough"
    assert api.post("/instances/m1/raiseEvent/x", json=1).status_code == 410
    listed = api.get("/instances", params={"runtimeStatus": "Terminated", "instanceIdPrefix": "m"}).json()
    assert [s["instanceId"] for s in listed] == ["m1"]
    restarted = api.post("/instances/m1/restart?restartWithNewInstanceId=false")
    assert restarted.status_code == 202 and restarted.json() == "m1"
    api.post("/instances/m1/terminate")
    wait(api, "m1")
    assert api.delete("/instances/m1").json() == {"instancesDeleted": 1}
    assert api.get("/instances/m1").status_code == 404


def test_listing_pages_through_instances_with_continuation_tokens(api: httpx.Client) -> None:
    for n in range(5):
        assert api.post(f"/orchestrators/sleeper/page-{n}", json=60).status_code == 202
    seen, token = [], None
    for _ in range(5):
        page = api.get("/instances", params={"instanceIdPrefix": "page-", "top": 2},
                       headers={"x-ms-continuation-token": token} if token else {})
        seen.append([s["instanceId"] for s in page.json()])
        token = page.headers.get("x-ms-continuation-token")
        if token is None:
            break
    assert seen == [["page-0", "page-1"], ["page-2", "page-3"], ["page-4"]]
    everything = api.get("/instances", params={"instanceIdPrefix": "page-"})
    assert len(everything.json()) == 5 and "x-ms-continuation-token" not in everything.headers
    assert api.get("/instances", params={"top": -1}).status_code == 400
    for n in range(5):
        api.post(f"/instances/page-{n}/terminate")


def test_entities_apply_signals_in_order(api: httpx.Client) -> None:
    for n in range(20):
        assert api.post("/entities/Counter/c1?op=add", json=n).status_code == 202
    deadline = time.monotonic() + 10
    while api.get("/entities/Counter/c1").status_code != 200 or api.get("/entities/Counter/c1").json() != 190:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert api.get("/entities/Counter/none").status_code == 404


def test_task_hubs_are_isolated(api: httpx.Client) -> None:
    api.post("/orchestrators/exhausted/hub1?taskHub=otherhub")
    assert api.get("/instances/hub1").status_code == 404
    assert api.get("/instances/hub1?taskHub=otherhub").status_code in (200, 202)


def test_timer_triggers_run_on_startup_and_on_schedule(host: Devhost) -> None:
    ticks = Path(host.env["TEST_STATE_DIR"]) / "ticks"
    deadline = time.monotonic() + 10
    while not ticks.exists() or len(ticks.read_text().split()) < 3:
        assert time.monotonic() < deadline, "the timer function did not keep running"
        time.sleep(0.1)


def test_continue_as_new_and_call_http(api: httpx.Client) -> None:
    api.post("/orchestrators/countdown/c1", json=3)
    status = wait(api, "c1")
    assert status["output"] == {"status": 200, "body": {"id": 3, "q": {"from": "orchestration"}}}


def test_sub_orchestration_retries_then_fails_into_the_parent(api: httpx.Client) -> None:
    api.post("/orchestrators/parent/p1")
    assert wait(api, "p1")["output"] == "child failed: True"


def test_a_missing_sub_orchestrator_fails_into_the_parent(api: httpx.Client) -> None:
    api.post("/orchestrators/orphan/o1")
    output = wait(api, "o1", timeout=10)["output"]
    assert output.startswith("child failed: ") and "'no_such_orchestrator' does not exist" in output


def test_pages_from_elsewhere_cannot_drive_devhosts_api(host: Devhost, api: httpx.Client) -> None:
    forged = api.post("/orchestrators/slow_once/forged-1", headers={"origin": "http://evil.example"})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "CrossOriginRefused"
    assert api.get("/instances/forged-1").status_code == 404  # nothing was started
    rebound = httpx.get(f"{host.url}/devhost/api/hubs", headers={"host": f"evil.example:{host.port}"})
    assert rebound.status_code == 403 and rebound.json()["error"]["code"] == "UntrustedHost"
    own_page = httpx.post(f"{host.url}/devhost/api/instances/none-such/terminate",
                          headers={"origin": host.url})
    assert own_page.status_code == 404  # the dashboard's own page passes the check
    assert httpx.get(f"{host.url}/api/items/1", headers={"host": "evil.example"}).status_code == 200  # app routes


def test_enforced_auth_needs_keys(tmp_path: Path) -> None:
    server = Devhost(app_dir=APP, data_dir=tmp_path / "data", env={"TEST_STATE_DIR": str(tmp_path)},
                     args=["--enforce-auth"]).start()
    try:
        keys = __import__("json").loads((tmp_path / "data" / "keys.json").read_text())
        assert httpx.get(f"{server.url}/api/secret").status_code == 401
        assert httpx.get(f"{server.url}/api/secret", params={"code": keys["functionKey"]}).text == "opened"
        assert httpx.get(f"{server.url}/api/secret", headers={"x-functions-key": keys["masterKey"]}).text == "opened"
        assert httpx.get(f"{server.url}/api/items/1").status_code == 200
        mgmt = f"{server.url}/runtime/webhooks/durabletask/instances"
        assert httpx.get(mgmt, params={"code": keys["functionKey"]}).status_code == 401
        assert httpx.get(mgmt, params={"code": keys["systemKey"]}).status_code == 200
    finally:
        server.stop()


def test_optional_and_catch_all_route_parameters(host: Devhost) -> None:
    assert httpx.get(f"{host.url}/api/greet/ada").text == "hello ada"
    assert httpx.get(f"{host.url}/api/greet").text == "hello nobody"
    assert httpx.get(f"{host.url}/api/greet/ada/lovelace").status_code == 404
    assert httpx.get(f"{host.url}/api/files/a/b/c.txt").json() == {"method": "GET", "path": "a/b/c.txt"}
    assert httpx.put(f"{host.url}/api/files/x").json() == {"method": "PUT", "path": "x"}
    assert httpx.get(f"{host.url}/api/files").json() == {"method": "GET", "path": ""}
    wrong_method = httpx.delete(f"{host.url}/api/files/x")
    assert wrong_method.status_code in (404, 405) and "error" in wrong_method.json()


def test_sigterm_lets_a_running_activity_finish_and_keeps_its_result(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    data = tmp_path / "data"
    server = Devhost(app_dir=APP, data_dir=data, env={"TEST_STATE_DIR": str(state)}).start()
    try:
        httpx.post(f"{server.url}/runtime/webhooks/durabletask/orchestrators/slow_once/graceful")
        time.sleep(0.5)  # the activity sleeps 2 s: it is running now
        assert server.stop() == 0
    finally:
        server.stop()
    assert (state / "flaky-graceful").read_text() == "1"
    again = Devhost(app_dir=APP, data_dir=data, env={"TEST_STATE_DIR": str(state)}).start()
    try:
        with httpx.Client(base_url=f"{again.url}/runtime/webhooks/durabletask", timeout=30) as api:
            assert wait(api, "graceful")["output"] == "graceful ok after 1"
    finally:
        again.stop()
    # Committed before the first host exited, so the restart did not run the activity again.
    assert (state / "flaky-graceful").read_text() == "1"


def test_an_activity_still_running_at_sigterm_can_reach_the_host_through_its_durable_client(tmp_path: Path) -> None:
    data, env = tmp_path / "data", {"TEST_STATE_DIR": str(tmp_path)}
    server = Devhost(app_dir=APP, data_dir=data, env=env).start()
    try:
        httpx.post(f"{server.url}/runtime/webhooks/durabletask/orchestrators/asks_the_host_late/asking")
        time.sleep(0.5)  # the activity asks after 2 s, while the host drains its running work
        assert server.stop() == 0
    finally:
        server.stop()
    again = Devhost(app_dir=APP, data_dir=data, env=env).start()
    try:
        with httpx.Client(base_url=f"{again.url}/runtime/webhooks/durabletask", timeout=30) as api:
            status = wait(api, "asking")
    finally:
        again.stop()
    # Its call reached the draining host, so the activity's result is its answer, not a failure to connect.
    assert (status["runtimeStatus"], status["output"]) == ("Completed", "asking was Running")


def test_a_missing_setting_in_host_json_stops_the_start_with_a_clear_error(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    (app / "host.json").write_text(json.dumps({"version": "2.0", "extensions": {"durableTask": {
        "hubName": "%NO_SUCH_HUB_SETTING%"}}}))
    with pytest.raises(RuntimeError) as failed:
        Devhost(app_dir=app, data_dir=tmp_path / "data").start()
    assert "devhost exited with 2" in str(failed.value)
    assert "host.json refers to %NO_SUCH_HUB_SETTING% but no app setting NO_SUCH_HUB_SETTING is set" in str(
        failed.value)


def test_a_taken_port_stops_the_start_before_anything_runs(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError) as refused:
            Devhost(app_dir=APP, data_dir=tmp_path / "data", port=port, env={"TEST_STATE_DIR": str(tmp_path)}).start()
    assert "devhost exited with 2" in str(refused.value)
    assert f"cannot listen on 127.0.0.1:{port}" in str(refused.value) and "--port" in str(refused.value)
    assert "Functions:" not in str(refused.value)  # refused before the app was loaded or any work picked up


def test_a_second_devhost_on_the_same_data_dir_is_refused_until_the_first_is_gone(tmp_path: Path) -> None:
    env = {"TEST_STATE_DIR": str(tmp_path)}
    first = Devhost(app_dir=APP, data_dir=tmp_path / "data", env=env).start()
    try:
        with pytest.raises(RuntimeError) as refused:
            Devhost(app_dir=APP, data_dir=tmp_path / "data", env=env).start()
        assert "devhost exited with 2" in str(refused.value)
        assert f"is in use by another devhost (pid {first.process.pid})" in str(refused.value)
        assert httpx.get(f"{first.url}/admin/host/status").json() == {"state": "Running"}
        first.kill()  # the lock goes with the process, however it ends
        second = Devhost(app_dir=APP, data_dir=tmp_path / "data", env=env).start()
        second.stop()
    finally:
        first.stop()


def test_replay_safe_values_custom_status_task_any_and_entities_from_an_orchestration(api: httpx.Client) -> None:
    api.post("/orchestrators/replayed/rs1")
    deadline = time.monotonic() + 10
    while (api.get("/instances/rs1").json().get("customStatus") or {}).get("stage") != "waiting for go":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert api.post("/instances/rs1/raiseEvent/go", json={"now": True}).status_code == 202
    status = wait(api, "rs1")
    assert status["runtimeStatus"] == "Completed" and status["customStatus"] == {"stage": "done"}
    output = status["output"]
    # What the first execution passed to the activity equals what the last replay computed again.
    assert output["first"] == output["recorded"]
    assert output["second"]["uuid"] != output["first"]["uuid"]
    assert output["second"]["now"] > output["first"]["now"]
    assert output["winner"] == "go" and output["go"] == {"now": True}
    # The signal was sent before the call, and an entity applies operations in order: 10, then 5.
    assert output["total"] == 15
    assert api.get("/entities/Counter/rs1").json() == 15


def test_local_settings_host_json_and_the_listing_at_start(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    (app / "host.json").write_text(json.dumps({"version": "2.0", "extensions": {
        "http": {"routePrefix": "v2"}, "durableTask": {"hubName": "%MY_HUB%"}}}))
    (app / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": {
        "MY_HUB": "fromsettings", "TEST_STATE_DIR": str(tmp_path)}}))
    server = Devhost(app_dir=app, data_dir=tmp_path / "data").start()
    try:
        assert httpx.get(f"{server.url}/v2/items/4").json() == {"id": 4, "q": {}}
        assert httpx.get(f"{server.url}/api/items/4").status_code == 404
        mgmt = f"{server.url}/runtime/webhooks/durabletask"
        httpx.post(f"{mgmt}/orchestrators/exhausted/ls1")
        assert httpx.get(f"{mgmt}/instances/ls1", params={"taskHub": "fromsettings"}).status_code in (200, 202)
        log = server.log()
        assert f"item: [GET] {server.url}/v2/items/{{id:int}}" in log
        assert "flaky: activityTrigger" in log and "Task hub: fromsettings" in log
    finally:
        server.stop()
