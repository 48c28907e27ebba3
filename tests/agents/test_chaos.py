"""Chaos: the host is killed (kill -9, or SIGTERM) at random moments while many runs with tool calls go on.

The host is devhost serving the Functions app, or the self-hosted worker (its scheduler, ``devhost scheduler``,
stays up: the worker is what a deployment restarts).

Afterwards every run has completed, every session's transcript holds each turn once, in order, whole, and each
seeing the turns before it, and no model call was made again once its reply had been journaled (the journal's
times are read from the embedded stream store's file). Figures are printed (``pytest -s``) for the issue notes.
"""

from __future__ import annotations

import random
import sqlite3
import time
import uuid
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from durable_agents import AgentClient
from tests.agents.helpers import wait_run
from tests.fixtures.agent_app import app_env
from tests.fixtures.model_server import ModelServer, Reply
from tests.fixtures.processes import Devhost, Scheduler, WorkerProcess

pytestmark = pytest.mark.slow

SESSIONS = 5
TURNS = 24
MAX_CRASHES = 12
# The run streams' time to live: a journal entry was written this long before it expires.
STREAM_TTL_MINUTES = 60
Host = Devhost | WorkerProcess


def turn_text(session: int, turn: int) -> str:
    return f"chaos s{session} t{turn}: what is {session} * 1000 + {turn}?"


def scripted(body: dict[str, Any]) -> Reply:
    """Each turn asks for one tool call, then answers with its result: decided by the request alone."""
    messages = body["messages"]
    last = messages[-1]
    if last["role"] == "user":
        session, turn = (int(part[1:]) for part in last["content"].split(":")[0].split()[1:])
        return Reply(tool_calls=[{"id": f"call_{uuid.uuid4().hex[:10]}", "type": "function", "function": {
            "name": "calculate", "arguments": f'{{"expression": "{session} * 1000 + {turn}"}}'}}], delay=0.1)
    return Reply(content=f"the answer is {last['content']}", delay=0.1)


def call_key(request: dict[str, Any]) -> tuple[str, str]:
    """Which model call a request is: its turn, and whether it asks for the tool or gives the answer."""
    messages = request["body"]["messages"]
    users = [m["content"] for m in messages if m["role"] == "user"]
    return users[-1], "answer" if messages[-1]["role"] == "tool" else "tool"


def journal_step(runs: list[list[str]], key: tuple[str, str]) -> str:
    """The journal entry of a model call: the run of its turn, and its first or second model step."""
    session, turn = (int(part[1:]) for part in key[0].split(":")[0].split()[1:])
    return f"step:{runs[session][turn]}:{'model-0' if key[1] == 'tool' else 'model-2'}"


def journaled_at(host: Host) -> dict[str, float]:
    """When each step's result was journaled (the clock of time.time())."""
    with closing(sqlite3.connect(host.env["STREAM_STORE_PATH"])) as db:
        rows = db.execute("SELECT key, expires_at FROM memos WHERE key LIKE 'step:%'").fetchall()
    return {key: expires - STREAM_TTL_MINUTES * 60 for key, expires in rows}


def submit_all(host: Host) -> list[list[str]]:
    runs: list[list[str]] = [[] for _ in range(SESSIONS)]
    with AgentClient(host.url) as client:
        for turn in range(TURNS):
            for session in range(SESSIONS):
                run = client.start("assistant", turn_text(session, turn), session_id=f"chaos-{host.port}-{session}")
                runs[session].append(run["run_id"])
    return runs


def all_done(host: Host, runs: list[list[str]]) -> bool:
    try:
        with httpx.Client(base_url=f"{host.url}/api", timeout=5) as api:
            return all(api.get(f"/runs/{r}").json().get("status") in ("completed", "failed")
                       for session in runs for r in session[-1:])
    except httpx.HTTPError:
        return False


def crash_repeatedly(host: Host, runs: list[list[str]], crash: str, rng: random.Random) -> list[float]:
    """Crash the host at random moments until the runs are done or MAX_CRASHES; returns when each crash came."""
    crashes: list[float] = []
    while len(crashes) < MAX_CRASHES and not all_done(host, runs):
        time.sleep(rng.uniform(0.2, 1.0))
        crashes.append(time.monotonic())
        if crash.endswith("kill"):
            host.kill()
        else:
            host.stop()
        host.start()
    return crashes


def check(host: Host, model: ModelServer, runs: list[list[str]], crashes: list[float], crash: str) -> None:
    lost = duplicated = out_of_order = broken = 0
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        statuses = Counter(wait_run(api, r, {"completed", "failed", "canceled"}, timeout=180)["status"]
                           for session in runs for r in session)
        for session in range(SESSIONS):
            state = api.get(f"/agents/assistant/sessions/chaos-{host.port}-{session}").json()
            expected = [turn_text(session, turn) for turn in range(TURNS)]
            users = [m["content"] for m in state["messages"] if m["role"] == "user"]
            lost += len(set(expected) - set(users))
            duplicated += len(users) - len(set(users))
            out_of_order += users != expected
            # Each turn is whole: user, the tool call, its result, the answer naming that result.
            starts = [i for i, m in enumerate(state["messages"]) if m["role"] == "user"]
            for start, end in zip(starts, [*starts[1:], len(state["messages"])], strict=True):
                turn_messages = state["messages"][start:end]
                turn = int(turn_messages[0]["content"].split(":")[0].split()[2][1:])
                shape = [m["role"] for m in turn_messages]
                whole = shape == ["user", "assistant", "tool", "assistant"] and turn_messages[2]["content"] == str(
                    session * 1000 + turn) and turn_messages[3]["content"].endswith(turn_messages[2]["content"])
                broken += not whole
                if not whole:
                    print(f"\nbroken turn s{session} t{turn}: {turn_messages}")
    requests = [r for r in model.chat_requests() if r["body"].get("messages")]
    journal, wall = journaled_at(host), time.time() - time.monotonic()
    finished: dict[tuple[str, str], dict[str, Any]] = {}
    repeated, stale, in_window = 0, 0, []
    for request in sorted(requests, key=lambda r: r["at"]):
        key = call_key(request)
        if key in finished:
            # Made again after a reply that was written whole: a failure when the reply had been journaled before
            # this call began. Else a crash came before the journal write (the window the README states), and the
            # figure is how long after the reply's end that crash came (negative: before its last bytes arrived).
            first, written = finished[key], journal.get(journal_step(runs, key))
            cut = min((c for c in crashes if c >= first["at"]), default=None)
            if cut is None or written is None or written < request["at"] + wall:
                repeated += 1
            else:
                in_window.append(round((cut - first["finished_at"]) * 1000, 1))
        # A model call sees every earlier turn of its session, in order, and no later one.
        users = [m["content"] for m in request["body"]["messages"] if m["role"] == "user"]
        session, turn = (int(p[1:]) for p in users[-1].split(":")[0].split()[1:])
        if users[:-1] != [turn_text(session, t) for t in range(turn)]:
            stale += 1
            print(f"\nthe model call for s{session} t{turn} saw the turns {users[:-1]}")
        if request["finished_at"] is not None:
            finished.setdefault(key, request)
    print(f"\nchaos ({crash}): {SESSIONS * TURNS} runs over {SESSIONS} sessions, {len(crashes)} crashes; "
          f"statuses {dict(statuses)}; lost {lost}, duplicated {duplicated}, sessions out of order {out_of_order}, "
          f"broken turns {broken}; model calls {len(requests)}, not seeing every earlier turn {stale}, "
          f"repeated after their reply was journaled {repeated} "
          f"(plus {len(in_window)} whose reply was cut off by a crash, at {in_window} ms from the reply's end)")
    assert statuses == {"completed": SESSIONS * TURNS}
    assert (lost, duplicated, out_of_order, broken, stale, repeated) == (0, 0, 0, 0, 0, 0)


def chaos(host: Host, model: ModelServer, crash: str) -> None:
    seed = random.randrange(1 << 30)
    print(f"\nchaos seed {seed}")
    runs = submit_all(host)
    crashes = crash_repeatedly(host, runs, crash, random.Random(seed))
    check(host, model, runs, crashes, crash)


@pytest.mark.parametrize("crash", ["kill", "sigterm"])
def test_runs_survive_crashes_at_random_moments(start_app: Any, model: ModelServer, crash: str) -> None:
    model.responder = scripted
    chaos(start_app(STREAM_TTL_MINUTES=str(STREAM_TTL_MINUTES)), model, crash)


@pytest.mark.parametrize("crash", ["kill", "sigterm"])
def test_runs_on_a_self_hosted_worker_survive_its_crashes_at_random_moments(model: ModelServer, tmp_path: Path,
                                                                            crash: str) -> None:
    model.responder = scripted
    scheduler = Scheduler(tmp_path / "scheduler").start()
    hub = f"Endpoint=http://localhost:{scheduler.port};Authentication=None;TaskHub=chaos"
    env = app_env(model, tmp_path, STREAM_TTL_MINUTES=str(STREAM_TTL_MINUTES))
    worker = WorkerProcess({**env, "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": hub},
                           tmp_path / "worker")
    try:
        chaos(worker.start(), model, f"worker {crash}")
    finally:
        worker.stop()
        scheduler.stop()
