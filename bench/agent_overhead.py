"""What the durable machinery adds to a model call, and how a run's history grows with a session.

Starts the repository's app on devhost with the scripted OpenAI-compatible server from the tests behind it,
then prints:
  * the median latency of calling that server directly with the ``openai`` client;
  * the median latency of a one-model-call agent run over HTTP (POST /api/agents/assistant/run, wait=true),
    and the difference: the durable machinery per model call (HTTP starter, orchestration, model-call
    activity reading the session, session append, status polling);
  * the orchestration history size (events and bytes) of turn 1 and of turn 50 of one session.

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


def direct_calls(server: ModelServer, calls: int) -> list[float]:
    client = openai.OpenAI(base_url=server.base_url, api_key="bench")
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "warm up"}])
    times = []
    for i in range(calls):
        start = time.perf_counter()
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"call {i}"}])
        times.append(time.perf_counter() - start)
    return times


def run_calls(api: httpx.Client, calls: int) -> list[float]:
    api.post("/agents/assistant/run", json={"message": "warm up"})
    times = []
    for i in range(calls):
        start = time.perf_counter()
        body = api.post("/agents/assistant/run", json={"message": f"call {i}"}).json()
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
                print(f"direct model calls ({args.calls})...", file=sys.stderr)
                direct = median_ms(direct_calls(server, args.calls))
                print(f"one-model-call runs ({args.calls})...", file=sys.stderr)
                durable = median_ms(run_calls(api, args.calls))
                print(f"{args.turns} turns in one session...", file=sys.stderr)
                sizes = {}
                for turn in range(1, args.turns + 1):
                    body = api.post("/agents/assistant/run",
                                    json={"message": f"turn {turn}: tell me more", "session_id": "long"}).json()
                    if turn in (1, args.turns):
                        sizes[turn] = history_size(host, body["run_id"])
        finally:
            host.stop()
            server.stop()
    print(f"direct openai call to the scripted server   median {direct:7.2f} ms")
    print(f"agent run with one model call (HTTP, wait)  median {durable:7.2f} ms")
    print(f"durable machinery per model call            median {durable - direct:7.2f} ms  (target < 10 ms)")
    for turn, (events, size) in sizes.items():
        print(f"run history at turn {turn:>3} of one session: {events} events, {size} bytes")


if __name__ == "__main__":
    main()
