"""Small waits and lookups shared by the agent tests (no timing assertions: only deadlines)."""

from __future__ import annotations

import time
from typing import Any

import httpx


def wait_run(api: httpx.Client, run_id: str, until: set[str], timeout: float = 30.0) -> dict[str, Any]:
    """Poll a run until its status is in ``until``; a run not started yet (404) is waited for too."""
    deadline = time.monotonic() + timeout
    while True:
        view = api.get(f"/runs/{run_id}").json()
        if view.get("status") in until:
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} not {until} after {timeout} s: {view}")
        time.sleep(0.05)


def wait_workflow(api: httpx.Client, workflow_id: str, until: set[str], timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        view = api.get(f"/workflows/{workflow_id}").json()
        if view["status"] in until or (view.get("custom_status") or {}).get("stage") in until:
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"workflow {workflow_id} not {until} after {timeout} s: {view}")
        time.sleep(0.05)


def history(base_url: str, instance_id: str) -> list[dict[str, Any]]:
    """An orchestration's history from the Durable management API."""
    response = httpx.get(f"{base_url}/runtime/webhooks/durabletask/instances/{instance_id}",
                         params={"showHistory": "true", "showHistoryOutput": "true", "taskHub": "agenttests"})
    return response.json()["historyEvents"]
