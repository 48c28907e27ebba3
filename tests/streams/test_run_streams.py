"""Run streams end to end through devhost, with each store: SSE, resume, restarts, long-poll, the chat command."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from durable_agents.client import AgentClient, Assembler, parse_sse
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import REPO, Devhost

ANSWER = " ".join(f"word{i}" for i in range(60))


@pytest.fixture(scope="module", params=["embedded", "redis"])
def streamed_host(request: pytest.FixtureRequest, start_app: Callable[..., Devhost], redis_server) -> Devhost:
    if request.param == "redis":
        return start_app(REDIS_URL=redis_server.url)
    return start_app()


@pytest.fixture
def client(streamed_host: Devhost) -> Iterator[AgentClient]:
    with AgentClient(streamed_host.url) as agent_client:
        yield agent_client


@pytest.fixture
def http(streamed_host: Devhost) -> Iterator[httpx.Client]:
    # One client for many connections: building an httpx.Client per request costs more than the request.
    with httpx.Client(base_url=streamed_host.url) as http_client:
        yield http_client


def sse_events(http: httpx.Client, run_id: str, cursor: str | None = None, limit: int | None = None) -> list[dict]:
    """Read SSE events (all, or the first ``limit``, then drop the connection)."""
    headers = {"last-event-id": cursor} if cursor else {}
    events = []
    with http.stream("GET", f"/api/runs/{run_id}/stream", headers=headers, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for event_id, data in parse_sse(response.iter_lines()):
            event = json.loads(data)
            assert event["id"] == event_id
            events.append(event)
            if limit is not None and len(events) >= limit:
                break
    return events


def test_a_finished_runs_whole_stream_is_readable_and_resumable_from_every_cursor(
    streamed_host: Devhost, http: httpx.Client, client: AgentClient, model: ModelServer
) -> None:
    model.call_tools(("calculate", {"expression": "2 + 2"}))
    model.say(ANSWER)
    run = client.start("assistant", "add and talk")
    assert run["links"]["stream"] == f"{streamed_host.url}/api/runs/{run['run_id']}/stream"
    result = client.follow(run["run_id"])
    assert result.ok and result.text == ANSWER
    events = sse_events(http, run["run_id"])
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["tool_call", "tool_result"] and kinds[-1] == "done"
    assert events[1]["data"]["content"] == "4"
    assert "".join(e["data"]["text"] for e in events if e["type"] == "delta") == ANSWER
    assert events[-1]["data"]["response"] == ANSWER and events[-1]["data"]["usage"]["total_tokens"] == 30
    for index, event in enumerate(events):
        rest = sse_events(http, run["run_id"], cursor=event["id"])
        assert [e["id"] for e in rest] == [e["id"] for e in events[index + 1:]]
    by_query = httpx.get(f"{streamed_host.url}/api/runs/{run['run_id']}/stream",
                         params={"cursor": events[-2]["id"]}).text
    assert by_query.count("event: done") == 1 and "event: delta" not in by_query


def test_dropping_the_connection_at_random_points_loses_and_repeats_nothing(
    http: httpx.Client, client: AgentClient, model: ModelServer
) -> None:
    rng = random.Random(20261124)
    runs = []
    for trial in range(100):
        if trial % 20 == 0:
            # Every twentieth trial follows a run that is still streaming; the others replay finished ones.
            model.say(ANSWER, chunk_delay=0.002)
            runs.append(client.start("assistant", f"trial {trial}")["run_id"])
        run_id = runs[-1]
        assembler, cursor, final = Assembler(), None, None
        while final is None:
            for event in sse_events(http, run_id, cursor, limit=rng.randint(1, 25)):
                assembler.add(event)
                cursor = event["id"]
                if event["type"] in ("done", "error"):
                    final = event
        assert final["type"] == "done"
        assert assembler.text() == final["data"]["response"] == ANSWER, f"trial {trial}"


def test_a_model_step_retried_mid_stream_says_so_and_the_text_has_no_duplicate(
    client: AgentClient, model: ModelServer
) -> None:
    model.say(ANSWER, break_after=5)
    model.say(ANSWER)
    run = client.start("assistant", "stream then break")
    result = client.follow(run["run_id"])
    kinds = [e["type"] for e in result.events]
    assert "step_restart" in kinds
    restart = kinds.index("step_restart")
    assert kinds[:restart] == ["delta"] * 5
    assert result.text == ANSWER
    assert Assembler_text(result.events) == ANSWER
    assert len(model.chat_requests()) == 2


def Assembler_text(events: list[dict]) -> str:  # noqa: N802 - reads as what it builds
    assembler = Assembler()
    for event in events:
        assembler.add(event)
    return assembler.text()


def test_the_json_long_poll_reads_by_cursor(streamed_host: Devhost, client: AgentClient, model: ModelServer) -> None:
    model.say("short answer", delay=0.3)
    run_id = client.start("assistant", "poll me")["run_id"]
    url = f"{streamed_host.url}/api/runs/{run_id}/stream"
    headers = {"accept": "application/json"}
    cursor, texts, done = None, [], False
    while not done:
        page = httpx.get(url, params={"cursor": cursor or "", "wait": 5}, headers=headers).json()
        assert set(page) == {"events", "cursor", "done"}
        texts += [e["data"]["text"] for e in page["events"] if e["type"] == "delta"]
        cursor, done = page["cursor"], page["done"]
    assert "".join(texts) == "short answer"
    after = httpx.get(url, params={"cursor": cursor, "wait": 0}, headers=headers).json()
    assert after == {"events": [], "cursor": cursor, "done": True}


def test_concurrent_runs_stream_separately(client: AgentClient, model: ModelServer) -> None:
    runs = [client.start("assistant", f"echo {i}")["run_id"] for i in range(4)]
    texts = [client.follow(run_id).text for run_id in runs]
    assert sorted(texts) == sorted(f"scripted: echo {i}" for i in range(4))


def test_a_canceled_run_ends_its_stream(client: AgentClient, model: ModelServer) -> None:
    model.call_tools(("send_email", {"to": "a@example.com", "subject": "s", "body": "b"}))
    run = client.start("assistant", "email please")
    seen: list[str] = []

    def on_event(event: dict) -> None:
        seen.append(event["type"])
        if event["type"] == "approval_required":
            client.http.post(f"/runs/{run['run_id']}/cancel")

    result = client.follow(run["run_id"], on_event=on_event)
    assert "approval_required" in seen
    assert result.final["type"] == "error" and "canceled" in result.final["data"]["message"]


def test_stream_errors(streamed_host: Devhost) -> None:
    missing = httpx.get(f"{streamed_host.url}/api/runs/nope/stream")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "RunNotFound"


def test_bad_cursor_and_wait_are_400(streamed_host: Devhost, client: AgentClient, model: ModelServer) -> None:
    run_id = client.start("assistant", "hello")["run_id"]
    client.follow(run_id)
    url = f"{streamed_host.url}/api/runs/{run_id}/stream"
    assert httpx.get(url, params={"cursor": "x-y-z"}).json()["error"]["code"] == "InvalidCursor"
    bad_wait = httpx.get(url, params={"wait": "999"}, headers={"accept": "application/json"})
    assert bad_wait.status_code == 400 and bad_wait.json()["error"]["code"] == "InvalidWait"


def test_the_chat_command_streams_answers_and_asks_for_approval(streamed_host: Devhost, model: ModelServer) -> None:
    model.say("Hi there, human.")
    model.call_tools(("send_email", {"to": "b@example.com", "subject": "s", "body": "b"}))
    model.say("Not sent, as you wished.")
    chat = subprocess.run(
        [sys.executable, "-m", "durable_agents.chat", "assistant", "--url", streamed_host.url, "--session", "chat-1"],
        input="hello\nemail b please\nn\n/quit\n", capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert chat.returncode == 0, chat.stderr
    assert "agent> Hi there, human." in chat.stdout
    assert "send_email wants to run with" in chat.stdout
    assert "agent> Not sent, as you wished." in chat.stdout
    assert "session: chat-1" in chat.stdout
    denial = [m for m in model.chat_requests()[-1]["body"]["messages"] if m["role"] == "tool"][0]["content"]
    assert denial.startswith("A person denied running send_email")
    session = httpx.get(f"{streamed_host.url}/api/agents/assistant/sessions/chat-1").json()
    assert session["turns"] == 2


def test_health_says_which_stream_store_serves(streamed_host: Devhost, redis_server) -> None:
    streams = httpx.get(f"{streamed_host.url}/api/health").json()["streams"]
    assert streams["reachable"] is True
    if streams["kind"] == "redis":
        assert streams["address"] == f"127.0.0.1:{redis_server.port}"
    else:
        assert streams["kind"] == "embedded" and streams["path"].endswith("streams.sqlite3")


def test_health_is_degraded_when_redis_does_not_answer(start_app: Callable[..., Devhost]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    host = start_app(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0")
    health = httpx.get(f"{host.url}/api/health", timeout=30).json()
    assert health["status"] == "degraded"
    assert health["streams"]["kind"] == "redis" and health["streams"]["reachable"] is False


def test_health_is_degraded_when_redis_accepts_but_never_answers(start_app: Callable[..., Devhost]) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections complete in the kernel's backlog; nothing is ever read or written
        host = start_app(REDIS_URL=f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        health = httpx.get(f"{host.url}/api/health", timeout=30).json()
    assert health["status"] == "degraded"
    assert health["streams"]["reachable"] is False and "no answer to PING within 3 s" in health["streams"]["error"]


def test_health_is_degraded_when_the_stream_store_is_misconfigured(start_app: Callable[..., Devhost]) -> None:
    host = start_app(REDIS_HOST="cache.example.net")  # no REDIS_USE_ENTRA_ID: refused before any connection
    response = httpx.get(f"{host.url}/api/health", timeout=30)
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    assert response.json()["streams"] == {"kind": "none", "reachable": False, "error": (
        "REDIS_HOST needs REDIS_USE_ENTRA_ID=true: access keys are disabled on Azure Managed Redis "
        "(or set REDIS_URL for another Redis)")}


def test_a_run_terminated_behind_the_apps_back_still_ends_its_stream(
    streamed_host: Devhost, client: AgentClient, model: ModelServer
) -> None:
    model.call_tools(("send_email", {"to": "c@example.com", "subject": "s", "body": "b"}))
    run_id = client.start("assistant", "email c")["run_id"]
    url = f"{streamed_host.url}/api/runs/{run_id}/stream"
    headers = {"accept": "application/json"}
    page = httpx.get(url, params={"wait": 5}, headers=headers).json()
    while not any(e["type"] == "approval_required" for e in page["events"]):
        page = httpx.get(url, params={"cursor": page["cursor"], "wait": 5}, headers=headers).json()
    # The Durable management API, not the run's cancel endpoint: nothing in the app wrote a final event.
    terminate = httpx.post(f"{streamed_host.url}/runtime/webhooks/durabletask/instances/{run_id}/terminate",
                           params={"reason": "operator"})
    assert terminate.status_code == 202
    page = httpx.get(url, params={"cursor": page["cursor"], "wait": 1}, headers=headers).json()
    assert page["done"] is True
    assert [e["type"] for e in page["events"]] == ["error"] and "canceled" in page["events"][0]["data"]["message"]


def test_the_chat_command_says_when_the_app_is_not_running() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    chat = subprocess.run([sys.executable, "-m", "durable_agents.chat", "assistant", "--url", f"http://127.0.0.1:{closed_port}"],
                          input="hello\n", capture_output=True, text=True, timeout=60, cwd=REPO)
    assert chat.returncode == 1
    assert f"cannot reach http://127.0.0.1:{closed_port}: is the app running?" in chat.stderr


def test_an_idle_stream_gets_heartbeats_and_ends_when_the_run_does(
    http: httpx.Client, client: AgentClient, model: ModelServer
) -> None:
    model.call_tools(("send_email", {"to": "d@example.com", "subject": "s", "body": "b"}))
    model.say("Sent.")
    run_id = client.start("assistant", "email d")["run_id"]
    lines: list[str] = []
    waiting_since = 0.0
    with http.stream("GET", f"/api/runs/{run_id}/stream", timeout=30) as response:
        for line in response.iter_lines():
            lines.append(line)
            if line == "event: approval_required":
                waiting_since = time.monotonic()
            if line == ": keep-alive" and "event: approval_required" in lines:
                # Idle while it waits for a person; the heartbeat came, now let the run finish.
                assert time.monotonic() - waiting_since < 7
                client.approve(run_id, True)
    assert "event: approval_required" in lines and lines[-2].startswith("data: ") and "event: done" in lines
