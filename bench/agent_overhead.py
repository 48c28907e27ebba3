"""What the durable machinery adds to a model call, and how a run's history grows with a session.

Starts the repository's app on devhost with the scripted OpenAI-compatible server from the tests behind it,
then prints:
  * the median latency of calling that server directly with the ``openai`` client, plain and streamed (a run's
    model step streams, so the streamed call is the model call a run makes);
  * the median latency of a one-model-call agent run over HTTP (POST /api/agents/assistant/run, wait=true), in
    a session that already exists and as the first run of a new session (which also starts the session's
    expiry watch), and the difference to the streamed call: the durable machinery per model call (HTTP
    starter, orchestration, model-call activity reading the session, publishing to the run's stream, session
    append, status polling);
  * how long a run takes early and late in a 50-turn session (the conversation grows; a run's cost should not),
    and the orchestration history size (events and bytes) of turn 1 and of turn 50 of one session.

    python bench/agent_overhead.py [--calls 50] [--turns 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.model_server import ModelServer  # noqa: E402
from tests.fixtures.processes import REPO, Devhost  # noqa: E402


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
    return times


def run_calls(api: httpx.Client, calls: int, session_id: str | None) -> list[float]:
    """One-model-call runs: all in ``session_id``, or each the first of a new session when it is None."""
    api.post("/agents/assistant/run", json={"message": "warm up", "session_id": session_id})
    times = []
    for i in range(calls):
        start = time.perf_counter()
        body = api.post("/agents/assistant/run", json={"message": f"call {i}", "session_id": session_id}).json()
        times.append(time.perf_counter() - start)
        assert body["status"] == "completed", body
    return times


def history_size(host: Devhost, run_id: str) -> tuple[int, int]:
    response = httpx.get(f"{host.url}/runtime/webhooks/durabletask/instances/{run_id}",
                         params={"showHistory": "true", "showHistoryOutput": "true"})
    events = response.json()["historyEvents"]
    return len(events), len(json.dumps(events))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--turns", type=int, default=50)
    args = parser.parse_args()
    server = ModelServer().start()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "bench", "OPENAI_MODEL": "bench",
               "TASKHUB_NAME": "bench", "AZURE_OPENAI_ENDPOINT": "", "SESSION_TOKEN_BUDGET": "100000000"}
        host = Devhost(app_dir=REPO, data_dir=Path(tmp) / "data", env=env).start()
        try:
            with httpx.Client(base_url=f"{host.url}/api", timeout=120) as api:
                print(f"direct model calls ({args.calls} plain, {args.calls} streamed)...", file=sys.stderr)
                plain = median_ms(direct_calls(server, args.calls, stream=False))
                streamed = median_ms(direct_calls(server, args.calls, stream=True))
                print(f"one-model-call runs ({args.calls} in one session, {args.calls} in new ones)...",
                      file=sys.stderr)
                same = median_ms(run_calls(api, args.calls, "bench-session"))
                new = median_ms(run_calls(api, args.calls, None))
                print(f"{args.turns} turns in one session...", file=sys.stderr)
                sizes, turn_times = {}, []
                for turn in range(1, args.turns + 1):
                    start = time.perf_counter()
                    body = api.post("/agents/assistant/run",
                                    json={"message": f"turn {turn}: tell me more", "session_id": "long"}).json()
                    turn_times.append(time.perf_counter() - start)
                    if turn in (1, args.turns):
                        sizes[turn] = history_size(host, body["run_id"])
        finally:
            host.stop()
            server.stop()
    print(f"direct openai call to the scripted server     median {plain:7.2f} ms")
    print(f"  the same, streamed                          median {streamed:7.2f} ms")
    print(f"agent run with one model call (HTTP, wait)    median {same:7.2f} ms")
    print(f"  the first run of a new session              median {new:7.2f} ms")
    print(f"durable machinery per model call              median {same - streamed:7.2f} ms  (target < 10 ms)")
    print(f"  in the first run of a new session           median {new - streamed:7.2f} ms")
    print(f"a run at turns 1-5 of one session           median {median_ms(turn_times[:5]):7.2f} ms")
    print(f"a run at turns {args.turns - 4}-{args.turns} of one session         "
          f"median {median_ms(turn_times[-5:]):7.2f} ms")
    for turn, (events, size) in sizes.items():
        print(f"run history at turn {turn:>3} of one session: {events} events, {size} bytes")


if __name__ == "__main__":
    main()
