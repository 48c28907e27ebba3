"""Stream tests run the same contract against a real redis-server and the embedded store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.agent_app import model, model_server, start_app
from tests.fixtures.redis_server import RedisServer

__all__ = ["model", "model_server", "start_app"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(params=["embedded", "redis"])
def store_settings(request: pytest.FixtureRequest, redis_server: RedisServer, tmp_path: Path) -> dict[str, str]:
    """Settings selecting one store kind (a fresh embedded file, or the shared redis-server)."""
    if request.param == "redis":
        return {"REDIS_URL": redis_server.url, "STREAM_STORE_PATH": ""}
    return {"REDIS_URL": "", "STREAM_STORE_PATH": str(tmp_path / "streams.sqlite3")}
