"""Agent tests run the repository's app on devhost, with a scripted model server behind it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import REPO, Devhost


@pytest.fixture(scope="module")
def model_server() -> Iterator[ModelServer]:
    server = ModelServer().start()
    yield server
    server.stop()


@pytest.fixture
def model(model_server: ModelServer) -> ModelServer:
    """The module's scripted model, emptied for this test."""
    model_server.reset()
    return model_server


def app_env(server: ModelServer, tmp: Path, **extra: str) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "test-key", "OPENAI_MODEL": "scripted-model",
        "TASKHUB_NAME": "agenttests", "OUTBOX_DIR": str(tmp / "outbox"), "MODEL_MAX_RETRIES": "2",
        "AZURE_OPENAI_ENDPOINT": "", "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME": "", **extra,
    }


@pytest.fixture(scope="module")
def start_app(model_server: ModelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Devhost]]:
    """Start the app on devhost with extra settings; every host started is stopped at the end."""
    started: list[Devhost] = []

    def start(**settings: str) -> Devhost:
        tmp = tmp_path_factory.mktemp("agents")
        host = Devhost(app_dir=REPO, data_dir=tmp / "data", env=app_env(model_server, tmp, **settings)).start()
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()


@pytest.fixture(scope="module")
def host(start_app: Callable[..., Devhost]) -> Devhost:
    """One app for the module, with a short approval timeout."""
    return start_app(APPROVAL_TIMEOUT_SECONDS="3")


@pytest.fixture
def api(host: Devhost) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as client:
        yield client
