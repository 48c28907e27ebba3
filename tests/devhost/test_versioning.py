"""Orchestration versioning as the Durable extension has it: defaultVersion, versions on start, match strategies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from devhost.durable.versioning import compare_versions
from tests.devhost.test_durable import wait
from tests.fixtures.processes import Devhost

APP = Path(__file__).parent / "versioned_app"


def serve(tmp_path: Path, **durable_task: str) -> Devhost:
    app_dir = tmp_path / "app"
    if not app_dir.exists():
        shutil.copytree(APP, app_dir)
    (app_dir / "host.json").write_text(json.dumps(
        {"version": "2.0", "extensions": {"durableTask": {"hubName": "versions", **durable_task}}}))
    return Devhost(app_dir=app_dir, data_dir=tmp_path / "data").start()


@pytest.mark.parametrize(("a", "b", "order"), [
    (None, None, 0), ("", None, 0), (None, "1.0", -1), ("1.0", "", 1), ("1.0", "1.0.0", -1), ("1.2", "1.10", -1),
    ("2.0.0.1", "2.0.0.1", 0), ("10", "9", -1), ("v2", "V2", 0), ("1", "1.0", -1),
])
def test_versions_compare_as_the_durable_task_framework_compares_them(a: str, b: str, order: int) -> None:
    assert compare_versions(a, b) == order


def test_versions_from_the_start_the_default_and_sub_orchestrations(tmp_path: Path) -> None:
    host = serve(tmp_path, defaultVersion="2.0", versionFailureStrategy="Fail")
    try:
        api = httpx.Client(base_url=f"{host.url}/runtime/webhooks/durabletask", timeout=30)
        api.post("/orchestrators/versions/unversioned")
        status = wait(api, "unversioned")
        assert status["version"] == "2.0"
        assert status["output"] == {"own": "2.0", "child": "2.0", "explicit_child": "1.1"}
        # A child asked for without a version gets the default, not its parent's.
        api.post("/orchestrators/versions/older?version=1.5")
        assert wait(api, "older")["output"] == {"own": "1.5", "child": "2.0", "explicit_child": "1.1"}
        started = httpx.post(f"{host.url}/api/start/1.0").text
        assert wait(api, started)["output"] == "1.0"
        api.post("/orchestrators/continues/again?version=1.9", json=True)
        assert wait(api, "again")["output"] == "1.9"
        api.post("/orchestrators/own_version/newer?version=3.0")
        failed = wait(api, "newer")
        assert failed["runtimeStatus"] == "Failed"
        assert failed["output"] == "VersionMismatch: Orchestration version did not comply with Worker Versioning"
        listed = api.get("/instances", params={"instanceIdPrefix": "older"}).json()
        assert [(s["instanceId"], s["version"]) for s in listed] == [
            ("older", "1.5"), ("older:0000", "2.0"), ("older:0001", "1.1")]
    finally:
        host.stop()


def test_an_instance_of_another_version_waits_for_a_host_that_runs_it(tmp_path: Path) -> None:
    host = serve(tmp_path, defaultVersion="1.0", versionMatchStrategy="Strict")
    try:
        api = httpx.Client(base_url=f"{host.url}/runtime/webhooks/durabletask", timeout=30)
        api.post("/orchestrators/own_version/later?version=2.0")
        api.post("/orchestrators/own_version/now")
        assert wait(api, "now")["output"] == "1.0"
        assert api.get("/instances/later").json()["runtimeStatus"] == "Pending"
        assert "has version '2.0', which this app (defaultVersion '1.0', Strict) does not run" in host.log()
    finally:
        host.stop()
    host = serve(tmp_path, defaultVersion="2.0", versionMatchStrategy="Strict")
    try:
        api = httpx.Client(base_url=f"{host.url}/runtime/webhooks/durabletask", timeout=30)
        assert wait(api, "later")["output"] == "2.0"
    finally:
        host.stop()


def test_without_versioning_an_orchestration_has_no_version(tmp_path: Path) -> None:
    host = serve(tmp_path)
    try:
        api = httpx.Client(base_url=f"{host.url}/runtime/webhooks/durabletask", timeout=30)
        api.post("/orchestrators/own_version/plain")
        status = wait(api, "plain")
        assert status["output"] is None and "version" not in status
    finally:
        host.stop()


def test_an_unknown_strategy_is_a_clear_start_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="versionMatchStrategy is 'Loose'; use one of None, Strict, CurrentOrOlder"):
        serve(tmp_path, versionMatchStrategy="Loose")
