"""Replay cost: how long devhost takes a step of an orchestration whose history already holds many activities.

Runs one ``sequential`` orchestration of N+1 no-op activities and reads the step times from its history (the
time between consecutive TaskCompleted events, which includes replaying the whole history through the SDK).

    python bench/replay.py [--steps 500]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.processes import Devhost  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        host = Devhost(app_dir=REPO / "bench" / "app", data_dir=Path(tmp)).start()
        try:
            base = f"{host.url}/runtime/webhooks/durabletask"
            print(f"running {args.steps + 1} sequential activities...", file=sys.stderr)
            httpx.post(f"{base}/orchestrators/sequential/replay", params={"timeout": 600},
                       json={"input": "r", "steps": args.steps + 1}, timeout=660).raise_for_status()
            events = httpx.get(f"{base}/instances/replay", params={"showHistory": "true"}).json()["historyEvents"]
        finally:
            host.stop()
    done = [datetime.fromisoformat(e["Timestamp"].replace("Z", "+00:00")) for e in events
            if e["EventType"] == "TaskCompleted"]
    gaps = [(b - a).total_seconds() * 1000 for a, b in zip(done, done[1:], strict=False)]
    early, late = statistics.median(gaps[:50]), statistics.median(gaps[-50:])
    print(f"step time with   1-50 activities in history: median {early:6.2f} ms")
    print(f"step time with {len(gaps) - 49}-{len(gaps)} activities in history: median {late:6.2f} ms "
          "(target: well under 20)")


if __name__ == "__main__":
    main()
