"""``devhost scheduler`` on the command line: a taken gRPC port stops it at once; SIGTERM stops it cleanly."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.fixtures.processes import REPO, Scheduler, free_port


def test_a_taken_grpc_port_stops_the_scheduler_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run(
            [sys.executable, "-m", "devhost", "scheduler", "--port", str(taken.getsockname()[1]),
             "--http-port", str(free_port()), "--data-dir", str(tmp_path / "data")],
            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "the port is in use" in result.stderr


def test_sigterm_stops_the_scheduler_cleanly(tmp_path: Path) -> None:
    server = Scheduler(tmp_path / "data").start()
    assert server.stop() == 0
