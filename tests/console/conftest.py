"""Console tests drive the agent console in headless Chromium (Debian's package) with Playwright, against the
repository's app on devhost with keys enforced (as in Azure) and the scripted model behind it.

One devhost, one model server and one browser serve the whole folder (each test uses sessions of its own), so the
folder runs in well under two minutes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request

from tests.dashboard.conftest import launched
from tests.fixtures.agent_app import app_env
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import REPO, Devhost

ARTIFACTS = REPO / "test-artifacts" / "console"
# Small enough that one long message makes the session compact its old turns into a summary, large enough that
# the other tests' sessions never do.
SESSION_TOKEN_BUDGET = 400
# The page's own files: anonymous, as a <script> or <link> tag cannot send a key.
STATIC = "/api/console/"


@dataclass
class Console:
    """The app on devhost, its keys, and an API client that sends the function key."""

    host: Devhost
    function_key: str
    master_key: str
    api: httpx.Client
    outbox: Path

    def url(self, fragment: str = "/", key: str | None = None) -> str:
        return f"{self.host.url}/api/console?code={key or self.function_key}#{fragment}"

    def run(self, agent: str, message: str, session_id: str, **extra: Any) -> dict[str, Any]:
        """Start a run through the API (not the page) and wait for it to finish or ask for approval."""
        response = self.api.post(f"/agents/{agent}/run", json={"message": message, "session_id": session_id,
                                                                **extra})
        assert response.status_code in (200, 202), response.text
        return response.json()

    def wait_run(self, run_id: str, statuses: set[str], timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            run = self.api.get(f"/runs/{run_id}").json()
            if run["status"] in statuses:
                return run
            assert time.monotonic() < deadline, run
            time.sleep(0.05)


def trace_id(root: str) -> str:
    """The trace id the library gives a run's spans (sha256 of "trace", root), as viewers show it."""
    return hashlib.sha256(f"trace\x1f{root}".encode()).digest()[:16].hex()


@pytest.fixture(scope="package")
def model_server() -> Iterator[ModelServer]:
    server = ModelServer().start()
    yield server
    server.stop()


@pytest.fixture
def model(model_server: ModelServer) -> ModelServer:
    """The scripted model, emptied for this test."""
    model_server.reset()
    return model_server


@pytest.fixture(scope="package")
def console(model_server: ModelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    env = app_env(model_server, tmp, SESSION_TOKEN_BUDGET=str(SESSION_TOKEN_BUDGET), TASKHUB_NAME="consoletests")
    host = Devhost(app_dir=REPO, data_dir=tmp / "data", env=env, args=["--enforce-auth"]).start(timeout=60)
    try:
        keys = json.loads((tmp / "data" / "keys.json").read_text())
        with httpx.Client(base_url=f"{host.url}/api", timeout=60,
                          headers={"x-functions-key": keys["functionKey"]}) as api:
            yield Console(host, keys["functionKey"], keys["masterKey"], api, tmp / "outbox")
    finally:
        host.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


@pytest.fixture
def api_calls() -> list[Request]:
    """The page's calls to the app's API (not its own files), in the order it made them."""
    return []


@pytest.fixture
def page(browser: Browser, console: Console, api_calls: list[Request],
         request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page. The test fails if the page raised, asked anything of another origin, or called the API
    without a key."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []

    def seen(r: Request) -> None:
        if not r.url.startswith(console.host.url + "/"):
            elsewhere.append(r.url)
        elif r.url.startswith(console.host.url + "/api/") and not r.url.startswith(console.host.url + STATIC) \
                and r.resource_type != "document":
            api_calls.append(r)

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", seen)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    sent = {r.url: r.headers.get("x-functions-key") for r in api_calls}
    context.close()
    assert not errors, f"the page raised: {errors}"
    assert not elsewhere, f"the page asked other origins: {elsewhere}"
    unkeyed = {url: key for url, key in sent.items() if key not in (console.function_key, console.master_key)}
    assert not unkeyed, f"API calls without the page's key: {unkeyed}"


@pytest.fixture
def chat(page: Page) -> Callable[[str], None]:
    """Send a message from the open chat view, as a person would (Enter sends)."""
    def send(message: str) -> None:
        page.fill("#message", message)
        page.press("#message", "Enter")
    return send
