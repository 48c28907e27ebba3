"""The client sends a submit again when the connection drops before the answer, and the key keeps it one run."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from durable_agents import AgentClient
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost


class LossyProxy:
    """Forwards each request to the app, and for the first ``drop`` requests hangs up instead of answering."""

    def __init__(self, upstream: str, drop: int) -> None:
        self.upstream, self.drop, self.forwarded = upstream, drop, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self._relay(conn)

    def _relay(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        length = int(headers.get("content-length", headers.get("Content-Length", "0")))
        while len(body) < length:
            body += conn.recv(65536)
        forward = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length", "connection")}
        answer = httpx.request(method, self.upstream + target, headers=forward, content=body, timeout=60)
        self.forwarded += 1
        if self.forwarded <= self.drop:
            return  # the app did the work; the client never hears of it
        conn.sendall(f"HTTP/1.1 {answer.status_code} OK\r\ncontent-type: application/json\r\n"
                     f"content-length: {len(answer.content)}\r\nconnection: close\r\n\r\n".encode() + answer.content)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def proxy(host: Devhost) -> Iterator[LossyProxy]:
    lossy = LossyProxy(host.url, drop=2)
    yield lossy
    lossy.close()


def test_a_start_whose_answer_was_lost_is_sent_again_and_stays_one_run(proxy: LossyProxy, host: Devhost,
                                                                        api: httpx.Client, model: ModelServer) -> None:
    with AgentClient(proxy.url) as client:
        run = client.start("assistant", "lost answers", session_id="retry-1")
    assert proxy.forwarded == 3
    view = api.get(f"/runs/{run['run_id']}").json()
    assert view["session_id"] == "retry-1"
    with AgentClient(host.url) as direct:
        assert direct.follow(run["run_id"]).ok
    assert api.get("/agents/assistant/sessions/retry-1").json()["turns"] == 1
    assert len(model.chat_requests()) == 1
