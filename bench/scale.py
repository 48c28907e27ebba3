"""devhost at scale: listing, opening and restarting with thousands of instances in the task hub.

Fills a fresh data directory over HTTP (orchestrations started concurrently by a bounded client) with
``--running`` instances waiting on an external event, one instance with about ``--history-events`` events in
its ``historyEvents`` (a fan-out of activities) and, in steps, ``--finished`` finished instances. At every size it
times, sequentially over one keep-alive connection (median and p95 over ``--requests`` calls):

- one page (``top=50``) of the management API's list: the first page, the last page (its
  ``x-ms-continuation-token`` found by walking every page, which is timed too) and the first page of
  ``runtimeStatus=Running``; the same three through the dashboard's API (newest first), and its hub counts;
- the long-history instance through the management API (``showHistory=true&showHistoryOutput=true``) and the
  dashboard's timeline;
- a restart (SIGTERM, then a new process on the same data directory): process start until
  ``/admin/host/status`` says Running, and until the first list request answers; its RSS (``VmRSS``) then,
  beside the RSS before the restart and the figures of a devhost started on an empty data directory.

Figures, not assertions. The data directory is temporary and removed at the end.

    python bench/scale.py [--finished 1000,10000] [--running 1000] [--history-events 1000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx

REPO = Path(__file__).resolve().parents[1]
APP_DIR = REPO / "bench" / "scale_app"
HUB = "scale"
MGMT = "/runtime/webhooks/durabletask"
DASH = "/devhost/api"
TOP = 50
HISTORY_ID = "history-1"
STARTED: list[Host] = []


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


@dataclass
class Host:
    """One devhost process on ``data_dir``, started with subprocess and ended by its pid."""

    data_dir: Path
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def __post_init__(self) -> None:
        STARTED.append(self)  # every one is ended by its pid in main's finally, whatever failed

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> dict[str, float]:
        """Start and wait until the host is Running and a list request answers; seconds to each."""
        self.log_path = self.log_dir / f"devhost-{self.port}-{time.monotonic_ns()}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "wb") as out:
            t0 = time.perf_counter()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "devhost", "--app-dir", str(APP_DIR), "--port", str(self.port),
                 "--data-dir", str(self.data_dir)],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = t0 + timeout
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"devhost exited with {self.process.returncode}:\n{self.log_tail()}")
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"devhost not Running after {timeout} s:\n{self.log_tail()}")
                try:
                    if client.get("/admin/host/status").json().get("state") == "Running":
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                time.sleep(0.005)
            running = time.perf_counter() - t0
            client.get(f"{MGMT}/instances", params={"top": TOP}, timeout=60).raise_for_status()
            answered = time.perf_counter() - t0
        return {"running_s": running, "first_answer_s": answered}

    def stop(self, timeout: float = 30.0) -> float:
        """SIGTERM, then SIGKILL if it has not ended in ``timeout``; seconds it took."""
        t0 = time.perf_counter()
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"devhost pid {self.process.pid} ignored SIGTERM for {timeout} s; killing it")
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return time.perf_counter() - t0

    def rss_mb(self) -> float | None:
        return rss_mb(self.process.pid) if self.process else None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


# filling the task hub


async def start_many(url: str, name: str, ids: list[str], payload: object, concurrency: int, label: str) -> float:
    """Start one ``name`` orchestration per ID, ``concurrency`` requests in flight; seconds it took.

    aiohttp rather than httpx here: with 16-32 connections httpx's async pool started several times fewer
    orchestrations per second on 2 cores (the client shares them with devhost).
    """
    gate = asyncio.Semaphore(concurrency)
    done = 0
    t0 = time.perf_counter()
    last = t0
    body = json.dumps(payload)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(f"{url}", connector=connector, timeout=timeout) as session:

        async def one(iid: str) -> None:
            nonlocal done, last
            async with gate, session.post(f"{MGMT}/orchestrators/{name}/{iid}", data=body,
                                          headers={"content-type": "application/json"}) as response:
                text = await response.text()
            if response.status != 202:
                raise RuntimeError(f"starting {name}/{iid}: {response.status} {text[:200]}")
            done += 1
            now = time.perf_counter()
            if now - last >= 2 or done == len(ids):
                last = now
                log(f"  {label}: {done}/{len(ids)} started ({done / (now - t0):.0f}/s)")

        await asyncio.gather(*(one(iid) for iid in ids))
    return time.perf_counter() - t0


def counts(client: httpx.Client) -> dict[str, int]:
    hubs = client.get(f"{DASH}/hubs").json()["hubs"]
    return next((h["counts"] for h in hubs if h["name"] == HUB), {})


def wait_for(client: httpx.Client, what: str, done: Callable[[dict[str, int]], bool], timeout: float) -> float:
    """Poll the hub's status counts until ``done`` says so; seconds it took."""
    t0 = time.perf_counter()
    last = t0
    while True:
        now_counts = counts(client)
        if done(now_counts):
            return time.perf_counter() - t0
        now = time.perf_counter()
        if now - t0 > timeout:
            raise RuntimeError(f"{what}: not there after {timeout:.0f} s; counts {now_counts}")
        if now - last >= 2:
            last = now
            log(f"  waiting for {what}: {now_counts}")
        time.sleep(0.2)


# timing


def timed(client: httpx.Client, n: int, path: str, params: dict | None = None,
          headers: dict | None = None) -> dict[str, float]:
    """Median and p95 (nearest rank) in ms of ``n`` GETs, after 3 unmeasured ones; bytes of the answer."""
    samples = []
    size = 0
    for k in range(n + 3):
        t0 = time.perf_counter()
        response = client.get(path, params=params, headers=headers)
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status_code not in (200, 202):
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")
        size = len(response.content)
        if k >= 3:
            samples.append(elapsed)
    samples.sort()
    return {"median_ms": statistics.median(samples), "p95_ms": samples[math.ceil(0.95 * n) - 1], "bytes": size}


def walk(client: httpx.Client, path: str) -> tuple[float, int, str | None]:
    """Follow every page's continuation token: seconds for all pages, the number of pages, the last token."""
    token, last, pages = None, None, 0
    t0 = time.perf_counter()
    while True:
        response = client.get(path, params={"top": TOP},
                              headers={"x-ms-continuation-token": token} if token else None)
        response.raise_for_status()
        pages += 1
        last, token = token, response.headers.get("x-ms-continuation-token")
        if not token:
            return time.perf_counter() - t0, pages, last


def measure_queries(url: str, n: int) -> tuple[dict[str, dict], dict[str, object]]:
    figures: dict[str, dict] = {}
    facts: dict[str, object] = {}
    with httpx.Client(base_url=url, timeout=120) as client:
        for label, base in (("mgmt", f"{MGMT}/instances"), ("dash", f"{DASH}/instances")):
            seconds, pages, last_token = walk(client, base)
            facts[f"{label}_pages"] = pages
            figures[f"{label}_walk"] = {"total_s": seconds, "pages": pages}
            figures[f"{label}_first"] = timed(client, n, base, {"top": TOP})
            figures[f"{label}_deep"] = timed(client, n, base, {"top": TOP},
                                             {"x-ms-continuation-token": last_token} if last_token else None)
            figures[f"{label}_running"] = timed(client, n, base, {"top": TOP, "runtimeStatus": "Running"})
        figures["dash_hubs"] = timed(client, n, f"{DASH}/hubs")
        status = client.get(f"{MGMT}/instances/{HISTORY_ID}",
                            params={"showHistory": "true", "showHistoryOutput": "true"}).json()
        facts["history_events"] = len(status.get("historyEvents") or [])
        facts["history_status"] = status.get("runtimeStatus")
        figures["mgmt_history"] = timed(client, n, f"{MGMT}/instances/{HISTORY_ID}",
                                        {"showHistory": "true", "showHistoryOutput": "true"})
        timeline = client.get(f"{DASH}/instances/{HISTORY_ID}/timeline").json()
        facts["timeline_spans"] = len(timeline.get("spans") or [])
        figures["dash_timeline"] = timed(client, n, f"{DASH}/instances/{HISTORY_ID}/timeline")
        facts["counts"] = counts(client)
    return figures, facts


def restart(host: Host, times: int) -> tuple[Host, dict[str, float | None]]:
    """Stop ``host`` and start a new one on its data directory ``times`` times; medians, RSS of the last."""
    before = host.rss_mb()
    stops, runnings, answers = [], [], []
    for _ in range(times):
        stops.append(host.stop())
        host = Host(host.data_dir, host.log_dir)
        started = host.start()
        runnings.append(started["running_s"])
        answers.append(started["first_answer_s"])
    return host, {"stop_s": statistics.median(stops), "running_s": statistics.median(runnings),
                  "first_answer_s": statistics.median(answers), "rss_before_mb": before,
                  "rss_after_mb": host.rss_mb(), "each_first_answer_s": answers}


# output

ROWS = [
    ("mgmt_first", "mgmt list, first page (top=50)"),
    ("mgmt_deep", "mgmt list, last page (token)"),
    ("mgmt_running", "mgmt list, runtimeStatus=Running"),
    ("mgmt_walk", "mgmt list, walk every page"),
    ("dash_first", "dashboard list, first page"),
    ("dash_deep", "dashboard list, last page (token)"),
    ("dash_running", "dashboard list, runtimeStatus=Running"),
    ("dash_walk", "dashboard list, walk every page"),
    ("dash_hubs", "dashboard hubs (status counts)"),
    ("mgmt_history", "mgmt status, showHistory (~1,000 events)"),
    ("dash_timeline", "dashboard timeline (same instance)"),
]
RESTART_ROWS = [
    ("stop_s", "SIGTERM until exit", "s"),
    ("running_s", "restart: start until Running", "s"),
    ("first_answer_s", "restart: start until first list answer", "s"),
    ("rss_before_mb", "RSS before restart", "MB"),
    ("rss_after_mb", "RSS after restart", "MB"),
]


def growth(first: float | None, last: float | None) -> str:
    return f"x{last / first:.1f}" if first and last is not None else "-"


def quantity(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2f} {unit}" if unit == "s" else f"{value:.0f} {unit}"


def table(result: dict) -> str:
    sizes = result["sizes"]
    heads = [f"{s['finished']:,} finished" for s in sizes]
    width = 40
    cell = 22
    lines = [f"{'median / p95 (ms)':<{width}}" + "".join(f"{h:>{cell}}" for h in heads) + f"{'growth':>9}"]
    for key, label in ROWS:
        values = [s["figures"][key] for s in sizes]
        if "total_s" in values[0]:
            cells = [f"{v['total_s'] * 1000:.0f} ({v['pages']} pages)" for v in values]
            g = growth(values[0]["total_s"], values[-1]["total_s"])
        else:
            cells = [f"{v['median_ms']:.1f} / {v['p95_ms']:.1f}" for v in values]
            g = growth(values[0]["median_ms"], values[-1]["median_ms"])
        lines.append(f"{label:<{width}}" + "".join(f"{c:>{cell}}" for c in cells) + f"{g:>9}")
    empty = result["empty"]
    lines.append("")
    lines.append(f"{'restart (median of ' + str(result['restarts']) + ')':<{width}}"
                 + f"{'empty dir':>{cell}}" + "".join(f"{h:>{cell}}" for h in heads) + f"{'growth':>9}")
    for key, label, unit in RESTART_ROWS:
        values = [s["restart"][key] for s in sizes]
        base = empty.get(key)
        cells = [quantity(v, unit) for v in [base, *values]]
        lines.append(f"{label:<{width}}" + "".join(f"{c:>{cell}}" for c in cells)
                     + f"{growth(values[0], values[-1]):>9}")
    lines.append("")
    for s in sizes:
        f = s["facts"]
        lines.append(f"{s['finished']:,} finished: hub counts {f['counts']}; long-history instance "
                     f"{f['history_status']} with {f['history_events']} historyEvents, {f['timeline_spans']} "
                     f"timeline spans; filled in {s['fill_s']:.1f} s")
    lines.append(f"running instances filled in {result['running_fill_s']:.1f} s, long-history instance in "
                 f"{result['history_fill_s']:.1f} s; whole run {result['total_s']:.0f} s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--finished", default="1000,10000", help="task hub sizes in finished instances")
    parser.add_argument("--running", type=int, default=1000, help="instances left waiting on an event")
    parser.add_argument("--history-events", type=int, default=1000, help="historyEvents of the long instance")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per figure")
    parser.add_argument("--restarts", type=int, default=3, help="restarts per size (medians are reported)")
    parser.add_argument("--concurrency", type=int, default=16, help="starts in flight while filling")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.finished.split(",") if s.strip()})

    t_total = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="devhost-scale-"))
    result: dict = {"running": args.running, "history_events_target": args.history_events,
                    "requests": args.requests, "restarts": args.restarts, "cpus": os.cpu_count(), "sizes": []}
    try:
        log("devhost on an empty data dir...")
        empty = {k: [] for k in ("running_s", "first_answer_s", "stop_s")}
        for _ in range(args.restarts):
            host = Host(tmp / "empty", tmp)
            started = host.start()
            rss = host.rss_mb()
            empty["stop_s"].append(host.stop())
            empty["running_s"].append(started["running_s"])
            empty["first_answer_s"].append(started["first_answer_s"])
        result["empty"] = {k: statistics.median(v) for k, v in empty.items()} | {
            "rss_after_mb": rss, "each_first_answer_s": empty["first_answer_s"]}

        host = Host(tmp / "data", tmp)
        host.start()
        finished = 0
        with httpx.Client(base_url=host.url, timeout=120) as client:
            # The long-history instance first (it then sits among the oldest), then the waiting ones.
            log(f"one fan-out of {args.history_events - 2} activities...")
            t0 = time.perf_counter()
            client.post(f"{MGMT}/orchestrators/fanout/{HISTORY_ID}", params={"timeout": 600},
                        json=args.history_events - 2, timeout=660).raise_for_status()
            result["history_fill_s"] = time.perf_counter() - t0
            log(f"{args.running} instances waiting on an event...")
            ids = [f"wait-{k:06d}" for k in range(args.running)]
            t0 = time.perf_counter()
            asyncio.run(start_many(host.url, "waiter", ids, None, args.concurrency, "running"))
            wait_for(client, "running instances", lambda c: c.get("Running", 0) >= args.running, 600)
            result["running_fill_s"] = time.perf_counter() - t0
        for size in sizes:
            with httpx.Client(base_url=host.url, timeout=120) as client:
                log(f"{size - finished} more finished instances (to {size})...")
                ids = [f"done-{k:06d}" for k in range(finished, size)]
                t0 = time.perf_counter()
                asyncio.run(start_many(host.url, "finish", ids, {"k": 1}, args.concurrency, "finished"))
                wait_for(client, "finished instances", lambda c, s=size: c.get("Completed", 0) >= s + 1, 600)
                fill = time.perf_counter() - t0
            finished = size
            log(f"timing queries at {size} finished...")
            figures, facts = measure_queries(host.url, args.requests)
            log(f"restarting {args.restarts} times at {size} finished...")
            host, restarted = restart(host, args.restarts)
            result["sizes"].append({"finished": size, "fill_s": fill, "figures": figures, "facts": facts,
                                    "restart": restarted})
    finally:
        for started in STARTED:
            started.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    result["total_s"] = time.perf_counter() - t_total
    print(json.dumps(result, indent=2) if args.json else table(result))


if __name__ == "__main__":
    main()
