"""An entity operation's input arrives as it was sent, on every path, through the real SDK."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.devhost.test_durable import api, host, wait  # noqa: F401  (fixtures)
from tests.devhost.test_user_code import entity_state
from tests.fixtures.processes import Devhost

VALUES = [1, 2.5, "text", "42", True, {"a": [1, "b"], "c": None}, [1, "x"]]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v) for v in VALUES])
def test_inputs_arrive_as_sent_from_the_client_orchestrations_and_the_http_api(
    host: Devhost, api: httpx.Client, value: object  # noqa: F811
) -> None:
    key = f"k{VALUES.index(value)}"
    assert httpx.post(f"{host.url}/api/record/{key}", json=value).text == "signalled"
    assert api.post(f"/entities/Recorder/{key}?op=http", json=value).status_code == 202
    api.post(f"/orchestrators/record_from_orchestration/rec-{key}", json={"key": key, "value": value})
    assert wait(api, f"rec-{key}")["output"] == value
    # A JSON string sent to the HTTP API is read as the input's JSON text, as the extension reads it (that is how
    # the SDK's client sends every input), so "42" arrives as 42 there.
    by_http = json.loads(value) if value == "42" else value
    entity_state(api, f"Recorder/{key}", {"client": value, "http": by_http, "signal": value, "call": value})


def test_a_failing_operation_is_logged_and_kept_for_the_dashboard(host: Devhost, api: httpx.Client) -> None:  # noqa: F811
    assert api.post("/entities/Counter/broken?op=add", json="not a number").status_code == 202
    logged = "entity @counter@broken: operation 'add' failed: unsupported operand type(s)"
    deadline = time.monotonic() + 30
    while logged not in host.log():
        assert time.monotonic() < deadline, host.log()[-2000:]
        time.sleep(0.05)
    entities = httpx.get(f"{host.url}/devhost/api/entities").json()
    broken = next(e for e in entities if (e["name"], e["key"]) == ("counter", "broken"))
    assert broken["lastFailure"]["operation"] == "add"
    assert "unsupported operand type(s)" in broken["lastFailure"]["message"]
