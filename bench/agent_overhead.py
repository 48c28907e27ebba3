"""What the durable machinery adds to a model call, on both hosts of the agents library, and what serialising a
session's turns costs.

Hosts (``--host functions|worker|both``, default both; bench/hosts.py starts them):
  functions       devhost serving the repository's function_app.py: the Azure Functions path;
  worker          ``devhost scheduler`` with ``python -m durable_agents.worker --app agent_app.worker:worker``
                  connected to it over gRPC, serving the same HTTP API: the self-hosted Durable Task worker path.
Every host has the scripted OpenAI-compatible server from the tests (in this process) as its model. Per round and
host, it measures:
  * a direct call to that server with the ``openai`` client, plain and streamed (a run's model step streams, so
    the streamed call is the model call a run makes), measured just before the host's runs;
  * the latency of a one-model-call run over HTTP (POST /api/agents/assistant/run, wait=true): in a session that
    already exists, and as the first run of a new session (which also starts the session's expiry watch); and of
    a run with one tool call (model, tool step, model); minus the direct streamed call(s) it made, that is the
    durable machinery per run (HTTP starter, orchestration, turn, model-call activity, publishing to the run's
    stream, session append, status polling). Each also from its post to its ExecutionCompleted event (the host's
    wall clock, which is this machine's): the same less the last episode, the HTTP answer and how late the wait's
    status polling (every 2 ms growing x1.3 to at most 250 ms: up to ~30% of the time waited so far) noticed the end;
  * where an existing-session run's time goes, from the timestamps its host wrote into its history: "before" is
    the post until ExecutionStarted (HTTP, the starter until start_new); the turn (``begin_turn`` on the session
    entity), the model step, the session append (which hands the turn on) and publishing each count from the start
    of the orchestration episode that scheduled them (an episode stamps what it schedules with its start) to their
    answer's arrival, so each includes that episode (replay, commit, dispatch); "between" is answers waiting for
    the next episode; "after" is ExecutionCompleted (stamped at the last episode's start) until the answer: the
    last episode, the polling's lateness, the HTTP answer. Beside them, the starter alone (the same POST with
    wait=false) and one status read (GET /api/runs/{id}), which the wait repeats;
  * a run early and late in a ``--turns``-turn session (the conversation grows; a run's cost should not), and the
    history size (events, bytes) of turn 1 and of the last turn;
  * throughput (runs/s, first post to last answer) of ``--concurrent`` runs posted at once on as many sessions,
    posted at once on one session (its turns run one at a time, in arrival order), and posted one after another
    on one session, each after the previous one's answer; the same to the last run's completion; and the CPU time
    the host's processes used per run meanwhile (and, apart, this process: the client and the model).
Every figure is a median over ``--rounds`` rounds, with the rounds' min and max; a round's latency figure is the
median of ``--calls`` runs, its throughput figure the median of ``--batches`` batches. Rounds alternate the hosts,
so drift in the machine's load reaches all. The last columns are each worker's median / functions' median.

    python bench/agent_overhead.py [--host both] [--calls 30] [--turns 50] [--rounds 3] [--concurrent 16]
                                   [--batches 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import openai

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hosts import HOSTS, WEBHOOKS, Hosted, start_host  # noqa: E402

from tests.fixtures.model_server import ModelServer  # noqa: E402

RUN = "/agents/assistant/run"
# A run's history names its steps by activity; the rest of a run's time is entity calls and orchestration episodes.
STEPS = {"agent_model_step": "model step", "agent_tool_step": "tool step", "agent_publish": "publish"}
ENTITY_OPS = {"begin_turn": "turn (begin_turn)", "append": "session append"}
BEFORE, AFTER = "before: POST sent -> ExecutionStarted", "after: ExecutionCompleted -> answer"
PARTS = [BEFORE, "turn (begin_turn)", "model step", "session append", "publish", "between steps (episodes)", AFTER]


@dataclass
class Sample:
    """One run over HTTP: its latency (perf_counter) and, by the wall clock its host stamps history with, when it
    was posted and answered."""

    latency: float
    run_id: str
    posted: float
    answered: float


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def direct_calls(server: ModelServer, calls: int, stream: bool) -> list[float]:
    client = openai.OpenAI(base_url=server.base_url, api_key="bench")

    def call(text: str) -> None:
        answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}],
                                                stream=stream)
        if stream:
            for _ in answer:
                pass

    call("warm up")
    times = []
    for i in range(calls):
        start = time.perf_counter()
        call(f"call {i}")
        times.append(time.perf_counter() - start)
    client.close()
    return times


def run_calls(api: httpx.Client, server: ModelServer, calls: int, session_id: str | None,
              tool: bool = False) -> list[Sample]:
    """Runs in ``session_id`` (each the first of a new session when None), one model call each, or with ``tool``
    a tool call between two model calls."""
    samples = []
    for i in range(-1, calls):  # run -1 warms up (and creates the session)
        if tool:
            server.call_tools(("calculate", {"expression": f"{i}*31"}))
            server.say(f"That is {i * 31}.")
        posted, start = time.time(), time.perf_counter()
        body = api.post(RUN, json={"message": f"call {i}", "session_id": session_id}).json()
        elapsed, answered = time.perf_counter() - start, time.time()
        assert body["status"] == "completed", body
        assert len(body["steps"]) == (3 if tool else 1), body["steps"]
        if i >= 0:
            samples.append(Sample(elapsed, body["run_id"], posted, answered))
    return samples


def starter_calls(api: httpx.Client, calls: int, session_id: str) -> tuple[list[float], list[float]]:
    """The same runs posted with wait=false (each waited for, untimed, before the next), and status reads."""
    posts, run_id = [], ""
    for i in range(-1, calls):
        start = time.perf_counter()
        body = api.post(RUN, json={"message": f"no wait {i}", "session_id": session_id, "wait": False}).json()
        if i >= 0:
            posts.append(time.perf_counter() - start)
        run_id = body["run_id"]
        while body["status"] != "completed":  # untimed: the next run must not queue behind this one
            assert body["status"] in ("queued", "running"), body
            time.sleep(0.005)
            body = api.get(f"/runs/{run_id}").json()
    reads = []
    for _ in range(calls):
        start = time.perf_counter()
        assert api.get(f"/runs/{run_id}").status_code == 200
        reads.append(time.perf_counter() - start)
    return posts, reads


def history(hosted: Hosted, run_id: str) -> list[dict]:
    response = httpx.get(f"{hosted.management}{WEBHOOKS}/instances/{run_id}",
                         params={"showHistory": "true", "showHistoryOutput": "true"}, timeout=60)
    response.raise_for_status()
    return response.json()["historyEvents"]


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def breakdown(events: list[dict], sample: Sample) -> dict[str, float]:
    """Where a finished run's time went, in seconds, by the timestamps its host wrote into its history."""
    parts: dict[str, float] = defaultdict(float)
    sent = {e["Input"]["id"]: e for e in events
            if e["EventType"] == "EventSent" and isinstance(e.get("Input"), dict) and "id" in e["Input"]}
    for event in events:
        if event["EventType"] == "EventRaised" and event.get("Name") in sent:
            call = sent[event["Name"]]  # an entity call's answer comes back as an event named by the call's id
            parts[ENTITY_OPS.get(call["Name"], "other entity calls")] += (_seconds(event["Timestamp"])
                                                                          - _seconds(call["Timestamp"]))
        elif event["EventType"] == "TaskCompleted":
            parts[STEPS.get(event.get("FunctionName"), "other steps")] += (_seconds(event["Timestamp"])
                                                                           - _seconds(event["ScheduledTime"]))
    started = next(e for e in events if e["EventType"] == "ExecutionStarted")
    completed = next(e for e in events if e["EventType"] == "ExecutionCompleted")
    orchestration = _seconds(completed["Timestamp"]) - _seconds(started["Timestamp"])
    parts["between steps (episodes)"] = orchestration - sum(parts.values())
    parts[BEFORE] = _seconds(started["Timestamp"]) - sample.posted
    parts[AFTER] = sample.answered - _seconds(completed["Timestamp"])
    parts["completed"] = _seconds(completed["Timestamp"]) - sample.posted
    return parts


def median_breakdown(hosted: Hosted, samples: list[Sample]) -> dict[str, float]:
    runs = [breakdown(history(hosted, sample.run_id), sample) for sample in samples]
    return {part: median_ms([run.get(part, 0.0) for run in runs]) for part in {p for run in runs for p in run}}


def turns(api: httpx.Client, hosted: Hosted, count: int, session_id: str) -> tuple[list[float], dict[int, tuple]]:
    times, sizes = [], {}
    for turn in range(1, count + 1):
        start = time.perf_counter()
        body = api.post(RUN, json={"message": f"turn {turn}: tell me more", "session_id": session_id}).json()
        times.append(time.perf_counter() - start)
        assert body["status"] == "completed", body
        if turn in (1, count):
            events = history(hosted, body["run_id"])
            sizes[turn] = (len(events), len(json.dumps(events)))
    return times, sizes


async def throughput(hosted: Hosted, n: int, batches: int, session: Callable[[int], str], at_once: bool,
                     tag: str) -> tuple[list[float], list[float], float, float]:
    """runs/s of ``batches`` batches of ``n`` runs on ``session(i)``, posted together or one after another: until
    the last answer, and until the last run's own completion (its status' lastUpdatedTime, written by the host), which
    leaves out how late the HTTP wait's polling noticed it; and the CPU seconds per run meanwhile of the host's
    processes and of this one (the client and the scripted model)."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=f"{hosted.api}/api", timeout=120, limits=limits) as client:
        async def one(i: int, batch: int) -> str:
            body = (await client.post(RUN, json={"message": f"{tag} {batch}.{i}", "session_id": session(i),
                                                 "timeout": 120})).json()
            assert body["status"] == "completed", body
            return body["run_id"]

        answered, completed, cpu, own = [], [], 0.0, 0.0
        for batch in range(-1, batches):  # batch -1 warms up: opens the connections, creates the sessions
            began, start, cpu_before, own_before = time.time(), time.perf_counter(), hosted.cpu_seconds(), \
                time.process_time()
            if at_once:
                run_ids = await asyncio.gather(*(one(i, batch) for i in range(n)))
            else:
                run_ids = [await one(i, batch) for i in range(n)]
            if batch >= 0:
                answered.append(n / (time.perf_counter() - start))
                cpu += hosted.cpu_seconds() - cpu_before
                own += time.process_time() - own_before
                async with httpx.AsyncClient(base_url=f"{hosted.management}{WEBHOOKS}", timeout=60) as management:
                    statuses = await asyncio.gather(*(management.get(f"/instances/{r}") for r in run_ids))
                last = max(_seconds(status.json()["lastUpdatedTime"]) for status in statuses)
                completed.append(n / (last - began))
        return answered, completed, cpu / (n * batches), own / (n * batches)


def measure(hosted: Hosted, server: ModelServer, args: argparse.Namespace, round_: int) -> dict[str, float]:
    """One round of every figure on one host (ms, runs/s, events, bytes)."""
    def log(text: str) -> None:
        print(f"[round {round_ + 1} {hosted.kind}] {text}", file=sys.stderr, flush=True)

    server.reset()  # it records every request: emptied so that it does not grow over the rounds
    fig: dict[str, float] = {}
    log(f"direct model calls ({args.calls} plain, {args.calls} streamed)")
    fig["direct plain"] = median_ms(direct_calls(server, args.calls, stream=False))
    fig["direct streamed"] = median_ms(direct_calls(server, args.calls, stream=True))
    with httpx.Client(base_url=f"{hosted.api}/api", timeout=120) as api:
        log(f"one-model-call runs ({args.calls} in one session, {args.calls} in new ones, {args.calls} with a tool)")
        kinds = {"existing session": run_calls(api, server, args.calls, f"same-{round_}"),
                 "new session": run_calls(api, server, args.calls, None),
                 "with a tool call": run_calls(api, server, args.calls, f"tool-{round_}", tool=True)}
        server.reset()
        for kind, samples in kinds.items():
            fig[f"run {kind}"] = median_ms([s.latency for s in samples])
            parts = median_breakdown(hosted, samples)
            fig[f"run {kind} completed"] = parts["completed"]
            if kind == "existing session":
                for part, value in parts.items():
                    fig[f"part: {part}"] = value
        posts, reads = starter_calls(api, args.calls, f"same-{round_}")
        fig["starter"], fig["status read"] = median_ms(posts), median_ms(reads)
        log(f"{args.turns} turns in one session")
        turn_times, sizes = turns(api, hosted, args.turns, f"long-{round_}")
        fig["turns 1-5"] = median_ms(turn_times[:5])
        fig["turns last 5"] = median_ms(turn_times[-5:])
        for turn, (events, size) in sizes.items():
            fig[f"history events turn {turn}"], fig[f"history bytes turn {turn}"] = events, size
    server.reset()
    n = args.concurrent
    log(f"throughput: {args.batches} batches of {n} runs, three ways")
    modes = {"N sessions, at once": (lambda i: f"par-{round_}-{i}", True),
             "one session, at once": (lambda i: f"queue-{round_}", True),
             "one session, one after another": (lambda i: f"serial-{round_}", False)}
    for name, (session, at_once) in modes.items():
        answered, completed, cpu, own = asyncio.run(throughput(hosted, n, args.batches, session, at_once, name))
        fig[f"throughput {name}"] = statistics.median(answered)
        fig[f"throughput {name} (completed)"] = statistics.median(completed)
        fig[f"cpu per run {name}"], fig[f"own cpu per run {name}"] = cpu * 1000, own * 1000
        server.reset()
    return fig


def rows(args: argparse.Namespace) -> list[tuple[str, Callable[[dict[str, float]], float] | None, str]]:
    """(label, figure from one round's figures or None for a heading, unit) for the table, in order."""
    def get(key: str) -> Callable[[dict[str, float]], float]:
        return lambda fig: fig.get(key, 0.0)

    n = args.concurrent
    return [
        ("direct openai call to the scripted server", get("direct plain"), "ms"),
        ("  the same, streamed (what a model step does)", get("direct streamed"), "ms"),
        ("run with one model call, existing session", get("run existing session"), "ms"),
        ("  posted -> completed, by the host's clock", get("run existing session completed"), "ms"),
        ("the first run of a new session", get("run new session"), "ms"),
        ("  posted -> completed", get("run new session completed"), "ms"),
        ("a run with one tool call (2 model calls)", get("run with a tool call"), "ms"),
        ("  posted -> completed", get("run with a tool call completed"), "ms"),
        ("durable machinery per run (target < 10 ms):", None, ""),
        ("  existing session: run - streamed call", lambda f: f["run existing session"] - f["direct streamed"], "ms"),
        ("    posted -> completed - streamed call",
         lambda f: f["run existing session completed"] - f["direct streamed"], "ms"),
        ("  new session: run - streamed call", lambda f: f["run new session"] - f["direct streamed"], "ms"),
        ("  tool run: run - 2 x streamed call", lambda f: f["run with a tool call"] - 2 * f["direct streamed"], "ms"),
        ("where an existing-session run's time goes:", None, ""),
        *((f"  {part}", get(f"part: {part}"), "ms") for part in PARTS),
        ("  the starter alone: the POST with wait=false", get("starter"), "ms"),
        ("  one status read: GET /api/runs/{id}", get("status read"), "ms"),
        (f"run at turns 1-5 of a {args.turns}-turn session", get("turns 1-5"), "ms"),
        (f"  at turns {args.turns - 4}-{args.turns}", get("turns last 5"), "ms"),
        ("run history at turn 1", get("history events turn 1"), "events"),
        ("", get("history bytes turn 1"), "bytes"),
        (f"run history at turn {args.turns}", get(f"history events turn {args.turns}"), "events"),
        ("", get(f"history bytes turn {args.turns}"), "bytes"),
        ("throughput, from the first post to the last answer:", None, ""),
        (f"  {n} runs on {n} sessions, at once", get("throughput N sessions, at once"), "runs/s"),
        (f"  {n} runs on one session, posted at once", get("throughput one session, at once"), "runs/s"),
        (f"  {n} runs on one session, one after another", get("throughput one session, one after another"),
         "runs/s"),
        ("  the same, to the last run's completion (by its host's clock):", None, ""),
        (f"    {n} runs on {n} sessions, at once", get("throughput N sessions, at once (completed)"), "runs/s"),
        (f"    {n} runs on one session, posted at once", get("throughput one session, at once (completed)"),
         "runs/s"),
        (f"    {n} runs on one session, one after another",
         get("throughput one session, one after another (completed)"), "runs/s"),
        ("  the host's CPU per run meanwhile (all its processes):", None, ""),
        (f"    {n} runs on {n} sessions, at once", get("cpu per run N sessions, at once"), "ms"),
        (f"    {n} runs on one session, posted at once", get("cpu per run one session, at once"), "ms"),
        (f"    {n} runs on one session, one after another", get("cpu per run one session, one after another"),
         "ms"),
        (f"    this process (client, model), {n} sessions", get("own cpu per run N sessions, at once"), "ms"),
    ]


def cell(values: list[float], unit: str) -> str:
    middle = statistics.median(values)
    digits = 0 if abs(middle) >= 1000 or unit in ("events", "bytes") else 1 if abs(middle) >= 100 else 2
    return f"{middle:.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def table(args: argparse.Namespace, results: dict[str, list[dict[str, float]]]) -> str:
    hosts = list(results)
    workers = [h for h in hosts if h != "functions"] if "functions" in hosts else []
    lines = [f"{'':50} {'unit':>7}" + "".join(f" {h + ' median [min-max]':>33}" for h in hosts)
             + "".join(f" {h + '/functions':>24}" for h in workers)]
    for label, value, unit in rows(args):
        if value is None:
            lines.append(label)
            continue
        per_host = {h: [value(fig) for fig in results[h]] for h in hosts}
        line = f"{label:50} {unit:>7}" + "".join(f" {cell(per_host[h], unit):>33}" for h in hosts)
        functions = statistics.median(per_host["functions"]) if workers else 0.0
        for h in workers:
            line += f" {statistics.median(per_host[h]) / functions:24.2f}" if functions > 0 else f" {'-':>24}"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", choices=[*HOSTS, "both"], default="both", help="both: functions and worker (default)")
    parser.add_argument("--calls", type=int, default=30, help="runs per latency figure and round (default 30)")
    parser.add_argument("--turns", type=int, default=50, help="turns of the long session (default 50)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each figure is their median (default 3)")
    parser.add_argument("--concurrent", type=int, default=16, help="runs per throughput batch (default 16)")
    parser.add_argument("--batches", type=int, default=2, help="throughput batches per round (default 2)")
    args = parser.parse_args()
    if args.turns < 5:
        parser.error("--turns must be at least 5")
    kinds = list(HOSTS) if args.host == "both" else [args.host]
    load_before, started = os.getloadavg(), time.time()
    server = ModelServer().start()
    results: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "bench", "OPENAI_MODEL": "bench",
               "TASKHUB_NAME": "bench", "AZURE_OPENAI_ENDPOINT": "", "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": "",
               "REDIS_URL": "", "MCP_SERVERS": "", "REMOTE_A2A_AGENTS": "", "SESSION_TOKEN_BUDGET": "100000000",
               "OUTBOX_DIR": f"{tmp}/outbox"}
        hosted: list[Hosted] = []
        try:
            for kind in kinds:
                # Each host its own embedded stream store, in the temporary folder (the default is one in /tmp).
                hosted.append(start_host(kind, Path(tmp) / kind,
                                         {**env, "STREAM_STORE_PATH": f"{tmp}/{kind}-streams.sqlite3"}))
            for round_ in range(args.rounds):
                # Alternate which host goes first, so that neither always runs right after the other's load.
                for host in hosted if round_ % 2 == 0 else hosted[::-1]:
                    results[host.kind].append(measure(host, server, args, round_))
        finally:
            for host in hosted:
                host.stop()
            server.stop()
    load_after = os.getloadavg()
    print(f"{time.strftime('%Y-%m-%d %H:%M')}  {os.cpu_count()} CPUs  load average before "
          f"{' '.join(f'{x:.2f}' for x in load_before)}, after {' '.join(f'{x:.2f}' for x in load_after)}  "
          f"({time.time() - started:.0f} s; {args.rounds} rounds x {args.calls} calls, {args.turns} turns, "
          f"{args.batches} batches of {args.concurrent})")
    print(table(args, results))


if __name__ == "__main__":
    main()
