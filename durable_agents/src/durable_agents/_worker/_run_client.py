"""``AgentWorker.client()``: start runs, follow their streams, decide approvals and read sessions, in-process.

The same calls as ``AgentClient`` (``start``, ``run``, ``approve``, ``follow``) with the same answers, made by the
library's own code (``submit``, ``read_run``, ``decide``, the stream endpoint's reader) through the worker's
durable client rather than over HTTP. Runs started here are queued for their session's turn and journaled exactly
as runs started through the HTTP API; only the agents' definitions must be the worker's (the same ``AgentWorker``
arguments), so that a script can start runs that a worker process elsewhere carries out. As for any submitter, a
run's limits (``AGENT_MAX_STEPS``, ``APPROVAL_TIMEOUT_SECONDS``...) come from this process's settings, and streams
and idempotency keys from its stream store settings, which must name the worker's store.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterator
from typing import Any

import azure.functions as func

from .._agent_run import cancel, decide, parse_run_request, read_run, submit, wait_run
from .._catalogue import get_agent
from .._run_stream import _sse
from .._steps import read_session
from .._streams import FINAL_TYPES, open_store
from ..client import Assembler, StreamResult, parse_sse
from ._client import DurableClient
from ._loop import UserLoop


class WorkerClient:
    """Synchronous calls on the worker's task hub; errors are ``AgentError`` with the HTTP API's codes."""

    def __init__(self, durable: Callable[[], DurableClient], loop: UserLoop, origin: str) -> None:
        self._durable = durable
        self._loop = loop
        self.origin = origin  # where the views' links point: the worker's HTTP API, or relative links without one

    def start(self, agent: str, message: str, session_id: str | None = None, *,
              response_format: dict[str, Any] | None = None, idempotency_key: str | None = None) -> dict[str, Any]:
        """Start a run without waiting; its view (run_id, session_id, status, links). A new session without one.

        The request is checked exactly as ``POST /api/agents/{agent}/run`` checks it (the same errors); with an
        ``idempotency_key``, starting the same request again answers the same run.
        """
        definition = get_agent(agent)
        body = {"message": message, "session_id": session_id, "response_format": response_format}
        request = parse_run_request(func.HttpRequest(
            "POST", f"{self.origin}/api/agents/{definition.name}/run", headers={"content-type": "application/json"},
            body=json.dumps(body).encode()))

        async def start() -> dict[str, Any]:
            client = self._durable()
            run_id = await submit(client, definition, request.session_id, request.message, request.response_format,
                                  key=idempotency_key)
            return await read_run(client, run_id, self.origin)

        return self._loop.run(start())

    def run(self, run_id: str) -> dict[str, Any]:
        """The run's view, as ``GET /api/runs/{run_id}`` answers it."""
        return self._loop.run(read_run(self._durable(), run_id, self.origin))

    def wait(self, run_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """The run's view once it finishes or waits for a person, or after ``timeout`` seconds."""
        return self._loop.run(wait_run(self._durable(), run_id, self.origin, timeout))

    def approve(self, run_id: str, approved: bool, comment: str | None = None) -> dict[str, Any]:
        """Decide the tool call the run waits on; a 409 ``NothingToApprove`` when none does."""
        return self._loop.run(decide(self._durable(), run_id, {"approved": approved, "comment": comment},
                                     self.origin))

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Cancel a run that has not finished; its view from before."""
        return self._loop.run(cancel(self._durable(), run_id, self.origin))

    def session(self, agent: str, session_id: str) -> dict[str, Any] | None:
        """The session's conversation (as ``GET /api/agents/{agent}/sessions/{id}``), None when there is none."""
        return self._loop.run(read_session(self._durable(), get_agent(agent).name, session_id))

    def follow(self, run_id: str, on_event: Callable[[dict[str, Any]], None] | None = None,
               cursor: str | None = None) -> StreamResult:
        """Read the run's stream to its end (the events of ``GET /api/runs/{run_id}/stream``), after ``cursor``."""
        result, assembler = StreamResult(), Assembler()
        for event in self._events(run_id, cursor):
            result.events.append(event)
            assembler.add(event)
            if on_event is not None:
                on_event(event)
            if event["type"] in FINAL_TYPES:
                result.final = event
                result.text = (event["data"].get("response") if event["type"] == "done" else None) \
                    or assembler.text()
        return result

    def _events(self, run_id: str, cursor: str | None) -> Iterator[dict[str, Any]]:
        """The stream endpoint's own SSE text, read on the worker's loop and handed over as it comes."""
        chunks: queue.Queue[str | None] = queue.Queue()
        self.run(run_id)  # an unknown run is a RunNotFound, as on the stream endpoint

        async def read() -> None:
            async for chunk in _sse(self._durable(), open_store(), run_id, cursor):
                chunks.put(chunk)

        reading = self._loop.submit(read())
        reading.add_done_callback(lambda _: chunks.put(None))
        lines = (line for chunk in iter(chunks.get, None) for line in chunk.split("\n"))
        for _, data in parse_sse(lines):
            yield json.loads(data)
        reading.result()
