"""How fast tokens reach a person through a run's SSE stream.

Starts a real redis-server (or, with ``--store embedded``, the embedded store), the scripted OpenAI-compatible
server from the tests, and the repository's app on devhost, then prints:
  * time to first token (median): calling the scripted server directly with the ``openai`` client, and through
    the stream endpoint (from sending ``POST /api/agents/assistant/run`` to the first ``delta`` on
    ``GET /api/runs/{id}/stream``), and their difference (target: within 15 ms);
  * events per second on one run's stream: a long answer streamed in small chunks, counted at the SSE reader
    from the first ``delta`` to ``done`` (target: at least 5,000/s with Redis). The scripted server and the
    ``openai`` client parsing its stream are printed too, as they bound this figure;
  * the stream path alone: events published from this process with the app's ``Publisher`` into the store of a
    run that is waiting for an approval, read through the SSE endpoint.

    python bench/stream.py [--trials 30] [--first-token-ms 50] [--events 20000] [--store redis|embedded]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import openai
import redis.asyncio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from durable_agents._streams.embedded import EmbeddedStore  # noqa: E402
from durable_agents._streams.publisher import Publisher  # noqa: E402
from durable_agents._streams.redis_store import RedisStore  # noqa: E402
from durable_agents.client import parse_sse  # noqa: E402
from tests.fixtures.model_server import ModelServer  # noqa: E402
from tests.fixtures.processes import REPO, Devhost  # noqa: E402
from tests.fixtures.redis_server import RedisServer  # noqa: E402


def direct_first_token(server: ModelServer, delay: float) -> float:
    client = openai.OpenAI(base_url=server.base_url, api_key="bench")
    server.say("first token please", delay=delay)
    start = time.perf_counter()
    stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            elapsed = time.perf_counter() - start
            break
    stream.close()
    return elapsed


def follow(http: httpx.Client, run_id: str) -> tuple[float | None, float, int]:
    """Read a run's stream to its end: (time of the first delta, time of done, number of deltas)."""
    first, count = None, 0
    with http.stream("GET", f"/api/runs/{run_id}/stream") as response:
        for _, data in parse_sse(response.iter_lines()):
            event = json.loads(data)
            if event["type"] == "delta":
                count += 1
                first = first or time.perf_counter()
            elif event["type"] in ("done", "error"):
                assert event["type"] == "done", event
                return first, time.perf_counter(), count
    raise RuntimeError(f"the stream of {run_id} ended without done")


def streamed_first_token(http: httpx.Client, server: ModelServer, delay: float) -> float:
    server.say("first token please", delay=delay)
    start = time.perf_counter()
    run_id = http.post("/api/agents/assistant/run", json={"message": "hi", "wait": False}).json()["run_id"]
    first, _, _ = follow(http, run_id)
    assert first is not None
    return first - start


def events_per_second(http: httpx.Client, server: ModelServer, events: int) -> tuple[float, int]:
    server.say("abcd" * events)
    run_id = http.post("/api/agents/assistant/run", json={"message": "long", "wait": False}).json()["run_id"]
    first, done, count = follow(http, run_id)
    assert first is not None and count == events, count
    return count / (done - first), count


def model_chunks_per_second(server: ModelServer, events: int) -> float:
    client = openai.OpenAI(base_url=server.base_url, api_key="bench")
    server.say("abcd" * events)
    start, count = time.perf_counter(), 0
    for chunk in client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], stream=True):
        count += bool(chunk.choices and chunk.choices[0].delta.content)
    return count / (time.perf_counter() - start)


def stream_path_per_second(http: httpx.Client, server: ModelServer, store_url: str, path: str, events: int) -> float:
    server.call_tools(("send_email", {"to": "bench@example.com", "subject": "s", "body": "b"}))
    run_id = http.post("/api/agents/assistant/run", json={"message": "email", "wait": False}).json()["run_id"]
    while http.get(f"/api/runs/{run_id}").json()["status"] != "awaiting_approval":
        time.sleep(0.01)
    pool = concurrent.futures.ThreadPoolExecutor(1)
    reader = pool.submit(follow, http, run_id)

    async def produce() -> None:
        store = (RedisStore(redis.asyncio.Redis.from_url(store_url), 600) if store_url
                 else EmbeddedStore(Path(path), 600))
        publisher = Publisher(store, run_id)
        for _ in range(events):
            publisher.publish({"type": "delta", "step": "bench", "data": {"text": "abcd"}})
            await asyncio.sleep(0)
        publisher.publish({"type": "done", "data": {"response": "", "usage": {}}})
        await publisher.flush()
        await store.close()

    asyncio.run(produce())
    first, done, count = reader.result()
    pool.shutdown()
    assert first is not None and count == events, count
    http.post(f"/api/runs/{run_id}/cancel")
    return count / (done - first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--first-token-ms", type=float, default=50.0, help="the scripted model's own delay")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--store", choices=["redis", "embedded"], default="redis")
    args = parser.parse_args()
    delay = args.first_token_ms / 1000
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = RedisServer(Path(tmp)) if args.store == "redis" else None
        server = ModelServer().start()
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "bench", "OPENAI_MODEL": "bench",
               "TASKHUB_NAME": "bench", "AZURE_OPENAI_ENDPOINT": "", "SESSION_TOKEN_BUDGET": "100000000",
               "REDIS_URL": redis_server.url if redis_server else "",
               "STREAM_STORE_PATH": str(Path(tmp) / "streams.sqlite3")}
        host = Devhost(app_dir=REPO, data_dir=Path(tmp) / "data", env=env).start()
        try:
            with httpx.Client(base_url=host.url, timeout=120) as http:
                streamed_first_token(http, server, delay)
                direct_first_token(server, delay)
                print(f"time to first token ({args.trials} trials each)...", file=sys.stderr)
                direct = [direct_first_token(server, delay) for _ in range(args.trials)]
                streamed = [streamed_first_token(http, server, delay) for _ in range(args.trials)]
                print(f"one run streaming {args.events} deltas...", file=sys.stderr)
                rate, count = events_per_second(http, server, args.events)
                model_rate = model_chunks_per_second(server, args.events)
                path_rate = stream_path_per_second(http, server, env["REDIS_URL"], env["STREAM_STORE_PATH"],
                                                   args.events)
        finally:
            host.stop()
            server.stop()
            if redis_server:
                redis_server.stop()
    direct_ms, streamed_ms = statistics.median(direct) * 1000, statistics.median(streamed) * 1000
    print(f"store: {args.store}; scripted first-token delay {args.first_token_ms:.0f} ms")
    print(f"time to first token, openai client direct     median {direct_ms:7.2f} ms")
    print(f"time to first token, run + SSE stream         median {streamed_ms:7.2f} ms")
    print(f"added by the run and its stream               median {streamed_ms - direct_ms:7.2f} ms  (target <= 15 ms)")
    print(f"events per second on one run's stream         {rate:9.0f} /s  ({count} deltas; target >= 5,000/s)")
    print(f"  bound: scripted server -> openai client       {model_rate:9.0f} chunks/s")
    print(f"stream path alone (Publisher -> store -> SSE)  {path_rate:9.0f} /s")


if __name__ == "__main__":
    main()
