"""Agent tests run the repository's app on devhost, with a scripted model server behind it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.fixtures.agent_app import model, model_server, start_app
from tests.fixtures.processes import Devhost

__all__ = ["model", "model_server", "start_app"]


@pytest.fixture(scope="module")
def host(start_app: Callable[..., Devhost]) -> Devhost:
    """One app for the module, with a short approval timeout."""
    return start_app(APPROVAL_TIMEOUT_SECONDS="3")


@pytest.fixture
def api(host: Devhost) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as client:
        yield client
