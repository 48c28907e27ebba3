"""User code runs as the Python worker runs it: off devhost's engine, concurrently, on threads with no event loop.

Concurrency is shown without timing: the app's operations wait at a barrier that opens only when all of them
run at once, so serial execution fails them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.devhost.test_durable import serve_test_app, wait
from tests.fixtures.processes import Devhost


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Devhost]:
    """A host per test: the tests here hold its threads."""
    server = serve_test_app(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def api(host: Devhost) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{host.url}/runtime/webhooks/durabletask", timeout=30) as client:
        yield client


def entity_state(api: httpx.Client, path: str, expected: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (found := api.get(f"/entities/{path}")).status_code != 200 or found.json() != expected:
        assert time.monotonic() < deadline, (found.status_code, found.text)
        time.sleep(0.05)


def wait_for_file(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_operations_on_different_entities_run_at_the_same_time(api: httpx.Client) -> None:
    parties = 12
    for key in range(parties):
        meeting = {"group": "g12", "parties": parties}
        assert api.post(f"/entities/Meeter/m{key}?op=meet", json=meeting).status_code == 202
    for key in range(parties):
        entity_state(api, f"Meeter/m{key}", 1)


def test_episodes_of_different_instances_run_at_the_same_time(api: httpx.Client) -> None:
    parties = 4
    for n in range(parties):
        api.post(f"/orchestrators/meeting/meet{n}", json={"group": "o4", "parties": parties})
    assert [wait(api, f"meet{n}")["output"] for n in range(parties)] == ["o4!"] * parties


def test_an_orchestrator_may_run_an_event_loop_of_its_own(api: httpx.Client) -> None:
    api.post("/orchestrators/uses_asyncio/a1", json=21)
    status = wait(api, "a1")
    assert (status["runtimeStatus"], status["output"]) == ("Completed", "42!")


def test_the_host_answers_while_user_code_holds_its_thread(host: Devhost, api: httpx.Client) -> None:
    state = Path(host.env["TEST_STATE_DIR"])
    api.post("/entities/Blocker/b1?op=block")
    wait_for_file(state / "blocked-b1")
    # Each of these waited for the blocked operation when user code ran inside the engine's turn.
    with httpx.Client(base_url=host.url, timeout=5) as quick:
        assert quick.get("/admin/host/status").json() == {"state": "Running"}
        assert quick.get("/api/items/1").status_code == 200
        assert quick.post("/runtime/webhooks/durabletask/orchestrators/uses_asyncio/during", json=1).status_code == 202
        assert wait(api, "during")["output"] == "2!"
        assert quick.get("/devhost/api/instances").status_code == 200
    assert api.post(f"{host.url}/api/release").text == "released"
    entity_state(api, "Blocker/b1", 1)


def test_sigterm_does_not_wait_for_user_code_and_the_operation_runs_again(host: Devhost, api: httpx.Client) -> None:
    state = Path(host.env["TEST_STATE_DIR"])
    api.post("/entities/Blocker/b2?op=block")
    wait_for_file(state / "blocked-b2")
    assert host.process is not None
    host.process.terminate()
    assert host.process.wait(timeout=15) == 0  # the blocked operation holds its thread for 60 s
    assert "abandoned" in host.log()
    (state / "blocked-b2").unlink()
    host.start()
    wait_for_file(state / "blocked-b2")  # nothing of it was committed: it runs again
    api.post(f"{host.url}/api/release")
    entity_state(api, "Blocker/b2", 1)


def test_one_entity_runs_its_operations_one_batch_at_a_time_in_order(api: httpx.Client) -> None:
    def add(n: int) -> int:
        return api.post("/entities/Counter/fifo?op=add", json=n).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(add, range(1, 41))) == {202}
    entity_state(api, "Counter/fifo", sum(range(1, 41)))
