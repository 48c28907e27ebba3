"""No input gets a 5xx from devhost's management and dashboard APIs, and a refused request changes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.devhost.test_durable import api, host  # noqa: F401  (fixtures)
from tests.fixtures.processes import Devhost

DEEP = b"[" * 100_000 + b"]" * 100_000
WEBHOOK = "/runtime/webhooks/durabletask"
CASES = [
    ("POST", f"{WEBHOOK}/orchestrators/sleeper/h1", {}, DEEP),
    ("POST", f"{WEBHOOK}/orchestrators/sleeper/h2?timeout=NaN", {}, b"1"),
    ("POST", f"{WEBHOOK}/orchestrators/sleeper/h3?timeout=inf", {}, b"1"),
    ("POST", f"{WEBHOOK}/orchestrators/sleeper/h4?timeout=-1", {}, b"1"),
    ("POST", f"{WEBHOOK}/orchestrators/sleeper/h5", {}, b'"\\ud800"'),
    ("POST", f"{WEBHOOK}/orchestrators/sleeper/h6", {}, b"NaN"),
    ("POST", f"{WEBHOOK}/orchestrators/sleeper/h7", {}, b'{"a": Infinity}'),
    ("POST", f"{WEBHOOK}/orchestrators/sleeper/h8", {}, b"\xff\xfe not utf-8"),
    ("GET", f"{WEBHOOK}/instances?top=99999999999999999999999", {}, b""),
    ("GET", f"{WEBHOOK}/instances?top=1", {"x-ms-continuation-token": "9" * 40}, b""),
    ("GET", f"{WEBHOOK}/instances?top=-5", {}, b""),
    ("GET", f"{WEBHOOK}/instances?createdTimeFrom=yesterday", {}, b""),
    ("GET", "/devhost/api/instances?top=99999999999999999999999", {}, b""),
    ("GET", "/devhost/api/instances", {"x-ms-continuation-token": "1e309"}, b""),
    ("POST", f"{WEBHOOK}/entities/Counter/h?op=add", {}, DEEP),
    ("POST", f"{WEBHOOK}/entities/Counter/h?op=add", {}, b'"\\udfff"'),
    ("POST", "/devhost/api/instances/nobody/raiseEvent/go", {}, DEEP),
]


@pytest.mark.parametrize(("method", "path", "headers", "body"), CASES, ids=[f"{m} {p[-40:]}" for m, p, _, _ in CASES])
def test_hostile_input_is_a_4xx_json_error_and_changes_nothing(host: Devhost, method: str, path: str,  # noqa: F811
                                                               headers: dict, body: bytes) -> None:
    listed = httpx.get(f"{host.url}{WEBHOOK}/instances").json()
    response = httpx.request(method, f"{host.url}{path}", headers=headers, content=body, timeout=30)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert set(response.json()["error"]) == {"code", "message"}
    assert httpx.get(f"{host.url}{WEBHOOK}/instances").json() == listed
    assert httpx.get(f"{host.url}{WEBHOOK}/entities/Counter/h").status_code == 404
