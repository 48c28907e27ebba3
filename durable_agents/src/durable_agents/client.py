"""A small client for the agent API that follows a run's stream and survives dropped connections.

    from durable_agents import AgentClient
    with AgentClient("http://127.0.0.1:7071") as client:
        run = client.start("assistant", "What is 6 * 7?", session_id="demo")
        print(client.follow(run["run_id"], on_event=print).text)

``follow`` reconnects with ``Last-Event-ID`` after a dropped connection, so no event is lost or repeated, and
drops a step's partial text when the stream says ``step_restart``. ``start`` and ``approve`` send an
``Idempotency-Key`` and send again with the same key when the connection fails, so a retry never makes a
second run or decision.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class StreamResult:
    """What a followed stream produced: the assembled text, the final event and how often it reconnected."""

    text: str = ""
    final: dict[str, Any] | None = None
    reconnects: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.final) and self.final["type"] == "done"


class Assembler:
    """Builds the answer text from stream events, honouring ``step_restart``."""

    def __init__(self) -> None:
        self.parts: list[tuple[str | None, str]] = []

    def add(self, event: dict[str, Any]) -> None:
        if event["type"] == "delta":
            self.parts.append((event.get("step"), event["data"]["text"]))
        elif event["type"] == "step_restart":
            self.parts = [(step, text) for step, text in self.parts if step != event.get("step")]

    def text(self, final_step_only: bool = True) -> str:
        """The text of the last model step (the answer), or of every step."""
        if not self.parts:
            return ""
        last = self.parts[-1][0]
        return "".join(text for step, text in self.parts if not final_step_only or step == last)


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str | None, str]]:
    """(id, data) of each SSE message; comments and retry hints are skipped."""
    event_id, data = None, []
    for line in lines:
        if line == "":
            if data:
                yield event_id, "\n".join(data)
            event_id, data = None, []
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "id":
                event_id = value
            elif name == "data":
                data.append(value)


class AgentClient:
    """Synchronous client for the agent HTTP API (``base_url`` without ``/api``)."""

    def __init__(self, base_url: str, key: str | None = None, timeout: float = 60.0, submit_attempts: int = 5) -> None:
        headers = {"x-functions-key": key} if key else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/") + "/api", headers=headers, timeout=timeout)
        self.submit_attempts = submit_attempts

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        body = response.json()
        if response.status_code >= 400:
            error = body.get("error", {})
            raise RuntimeError(f"{response.status_code} {error.get('code')}: {error.get('message')}")
        return body

    def submit(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST work under a new Idempotency-Key, sent again with it while the connection fails."""
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        for attempt in range(1, self.submit_attempts):
            try:
                return self._json(self.http.post(path, json=body, headers=headers))
            except httpx.TransportError:
                time.sleep(min(0.2 * attempt, 2.0))
        return self._json(self.http.post(path, json=body, headers=headers))

    def start(self, agent: str, message: str, session_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Start a run without waiting; returns its view (run_id, session_id, links)."""
        body = {"message": message, "wait": False, **fields}
        if session_id:
            body["session_id"] = session_id
        return self.submit(f"/agents/{agent}/run", body)

    def run(self, run_id: str) -> dict[str, Any]:
        return self._json(self.http.get(f"/runs/{run_id}"))

    def approve(self, run_id: str, approved: bool, comment: str | None = None) -> dict[str, Any]:
        return self.submit(f"/runs/{run_id}/approval", {"approved": approved, "comment": comment})

    def follow(self, run_id: str, on_event: Callable[[dict[str, Any]], None] | None = None,
               cursor: str | None = None, max_reconnects: int = 1000) -> StreamResult:
        """Read the run's stream to its end, reconnecting from the last cursor when the connection drops."""
        result, assembler = StreamResult(), Assembler()
        while True:
            headers = {"accept": "text/event-stream"}
            if cursor:
                headers["last-event-id"] = cursor
            try:
                with self.http.stream("GET", f"/runs/{run_id}/stream", headers=headers,
                                      timeout=httpx.Timeout(30.0, read=60.0)) as response:
                    if response.status_code >= 400:
                        response.read()
                        self._json(response)
                    for event_id, data in parse_sse(response.iter_lines()):
                        event = json.loads(data)
                        cursor = event_id or cursor
                        result.events.append(event)
                        assembler.add(event)
                        if on_event is not None:
                            on_event(event)
                        if event["type"] in ("done", "error"):
                            result.final = event
                            result.text = (event["data"].get("response") if event["type"] == "done"
                                           else None) or assembler.text()
                            return result
            except (httpx.TransportError, httpx.RemoteProtocolError):
                pass
            result.reconnects += 1
            if result.reconnects > max_reconnects:
                raise RuntimeError(f"gave up on the stream of run {run_id} after {max_reconnects} reconnects")
            time.sleep(min(0.05 * result.reconnects, 1.0))
