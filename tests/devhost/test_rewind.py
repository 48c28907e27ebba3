"""Rewinding failed instances as the extension does: failed activities and sub-orchestrations run again."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.devhost.test_durable import api, host, wait  # noqa: F401  (fixtures)
from tests.fixtures.processes import Devhost


def failed(api: httpx.Client, name: str, iid: str) -> dict:  # noqa: F811
    api.post(f"/orchestrators/{name}/{iid}")
    status = wait(api, iid)
    assert status["runtimeStatus"] == "Failed", status
    return status


def test_a_failed_activity_runs_again_and_the_instance_completes(api: httpx.Client) -> None:  # noqa: F811
    failed(api, "fails_once", "rw1")
    assert api.post("/instances/rw1/rewind?reason=fixed").status_code == 202
    status = wait(api, "rw1")
    assert (status["runtimeStatus"], status["output"]) == ("Completed", "rw1 ok after 2")
    history = api.get("/instances/rw1?showHistory=true").json()["historyEvents"]
    assert [e["EventType"] for e in history].count("TaskFailed") == 0


def test_a_task_out_of_retries_gets_one_more_attempt(api: httpx.Client) -> None:  # noqa: F811
    failed(api, "fails_twice_with_retry", "rw2")
    api.post("/instances/rw2/rewind")
    assert wait(api, "rw2")["output"] == "rw2 ok after 3"


def test_a_failed_sub_orchestration_is_rewound_with_its_parent(api: httpx.Client) -> None:  # noqa: F811
    failed(api, "parent_of_failing", "rw3")
    assert api.get("/instances/rw3-child").json()["runtimeStatus"] == "Failed"
    api.post("/instances/rw3/rewind")
    assert wait(api, "rw3")["output"] == ["before!", "rw3-child ok after 2"]
    assert api.get("/instances/rw3-child").json()["runtimeStatus"] == "Completed"


def test_an_orchestrator_that_failed_in_its_own_code_runs_again(host: Devhost, api: httpx.Client) -> None:  # noqa: F811
    marker = Path(host.env["TEST_STATE_DIR"]) / "broken-rw4"
    marker.write_text("1")
    failed(api, "broken_until_fixed", "rw4")
    marker.unlink()
    api.post("/instances/rw4/rewind")
    assert wait(api, "rw4")["output"] == "one!"


def test_only_a_failed_instance_can_be_rewound(api: httpx.Client) -> None:  # noqa: F811
    api.post("/orchestrators/sleeper/rw5", json=60)
    refused = api.post("/instances/rw5/rewind")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "InstanceNotFailed"
    api.post("/instances/rw5/terminate?reason=done")
    wait(api, "rw5")
    assert api.post("/instances/rw5/rewind").status_code == 410
    assert api.post("/instances/nobody/rewind").status_code == 404
