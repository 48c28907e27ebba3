"""Compatibility tests: apps this project did not write, run unchanged on devhost over HTTP.

Each app folder here is written as its framework's documentation shows; devhost serves it like
``func start`` would, with the scripted model server (tests/fixtures/model_server.py) as its model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fixtures.agent_app import model, model_server
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import Devhost

__all__ = ["model", "model_server", "start_compat_app"]

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def start_compat_app(
    model_server: ModelServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Devhost]]:
    """Start devhost on ``tests/compat/<folder>`` with the scripted model; every host started is stopped."""
    started: list[Devhost] = []

    def start(folder: str, **settings: str) -> Devhost:
        tmp = tmp_path_factory.mktemp(folder)
        env = {"OPENAI_BASE_URL": model_server.base_url, "OPENAI_API_KEY": "test-key",
               "OPENAI_MODEL": "scripted-model", **settings}
        host = Devhost(app_dir=HERE / folder, data_dir=tmp / "data", env=env)
        started.append(host)
        return host.start(timeout=60)

    yield start
    for host in started:
        host.stop()
