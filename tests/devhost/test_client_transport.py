"""The SDK's durable client reaches devhost's own API in-process, and everything else over HTTP as before."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import azure.durable_functions as df
import pytest
from azure.durable_functions.models.utils import http_utils
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from devhost.durable import client_transport
from tests.fixtures.processes import free_port

WEBHOOK = "/runtime/webhooks/durabletask"


def binding(port: int) -> str:
    base = f"http://127.0.0.1:{port}{WEBHOOK}"
    return json.dumps({"taskHubName": "hub", "creationUrls": {}, "managementUrls": {}, "baseUrl": base,
                       "requiredQueryStringParameters": "", "rpcBaseUrl": base + "/"})


def api(seen: list[tuple[str, str, str, bytes]]) -> Starlette:
    async def record(request: Request) -> Response:
        seen.append((request.method, request.url.path, request.url.query, await request.body()))
        if request.method == "POST":
            return JSONResponse({"id": request.path_params["rest"].split("/")[-1]}, status_code=202)
        if request.method == "DELETE":
            return JSONResponse({"instancesDeleted": 1})
        return JSONResponse({"name": "hello", "instanceId": "a b", "runtimeStatus": "Completed", "output": 42,
                             "createdTime": "2026-12-01T00:00:00Z", "lastUpdatedTime": "2026-12-01T00:00:01Z"})

    return Starlette(routes=[Route(WEBHOOK + "/{rest:path}", record, methods=["GET", "POST", "DELETE"])])


def test_calls_under_the_rpc_url_are_answered_by_the_app_without_a_socket() -> None:
    port = free_port()  # nothing listens here: a call that left the process would fail to connect
    seen: list[tuple[str, str, str, bytes]] = []

    async def main() -> None:
        client_transport.install(f"http://127.0.0.1:{port}{WEBHOOK}/", api(seen))
        client = df.DurableOrchestrationClient(binding(port))
        assert await client.start_new("hello", "i-1", {"city": "Tokyo"}) == "i-1"
        status = await client.get_status("a b", show_input=True)
        assert (status.runtime_status, status.output) == (df.OrchestrationRuntimeStatus.Completed, 42)
        assert (await client.purge_instance_history("a b")).instances_deleted == 1

    asyncio.run(main())
    (post, post_path, _, body), (get, get_path, query, _), (delete, *_) = seen
    # The SDK's body is a JSON string holding the input's JSON text, as it is over HTTP.
    assert (post, post_path, json.loads(json.loads(body))) == ("POST", f"{WEBHOOK}/orchestrators/hello/i-1",
                                                               {"city": "Tokyo"})
    assert (get, get_path) == ("GET", f"{WEBHOOK}/instances/a b") and "showInput=True" in query
    assert delete == "DELETE"


def test_other_urls_and_other_event_loops_still_go_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    served, elsewhere = free_port(), free_port()

    def fresh_session() -> None:
        # The SDK keeps one aiohttp session per process, tied to the loop that made it (the Functions worker has
        # one loop); this test runs two loops, and neither may inherit a session from a loop already closed.
        monkeypatch.setattr(http_utils, "_client_session", None)

    async def install() -> None:
        client_transport.install(f"http://127.0.0.1:{served}{WEBHOOK}/", api([]))

    async def status(port: int) -> None:
        await df.DurableOrchestrationClient(binding(port)).get_status("x")

    fresh_session()
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(install())
        with pytest.raises(aiohttp.ClientConnectionError):
            loop.run_until_complete(status(elsewhere))
    finally:
        loop.close()
    fresh_session()
    with pytest.raises(aiohttp.ClientConnectionError):  # the served URL, but from a loop that does not serve it
        asyncio.run(status(served))
