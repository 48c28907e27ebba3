"""Console tests drive the agent console in headless Chromium (Debian's package) with Playwright, against the
repository's app on devhost with keys enforced (as in Azure) and the scripted model behind it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.dashboard.conftest import browser
from tests.fixtures.agent_app import app_env, model, model_server
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import REPO, Devhost

__all__ = ["browser", "model", "model_server"]

ARTIFACTS = REPO / "test-artifacts" / "console"
# Small enough that one long message makes the session compact its old turns into a summary, large enough that
# the other tests' sessions never do.
SESSION_TOKEN_BUDGET = 400


@dataclass
class Console:
    """The app on devhost, its keys, and an API client that sends the function key."""

    host: Devhost
    function_key: str
    master_key: str
    api: httpx.Client

    def url(self, fragment: str = "/", key: str | None = None) -> str:
        return f"{self.host.url}/api/console?code={key or self.function_key}#{fragment}"


@pytest.fixture(scope="module")
def console(model_server: ModelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    env = app_env(model_server, tmp, SESSION_TOKEN_BUDGET=str(SESSION_TOKEN_BUDGET), TASKHUB_NAME="consoletests")
    host = Devhost(app_dir=REPO, data_dir=tmp / "data", env=env, args=["--enforce-auth"]).start()
    try:
        keys = json.loads((tmp / "data" / "keys.json").read_text())
        with httpx.Client(base_url=f"{host.url}/api", timeout=60,
                          headers={"x-functions-key": keys["functionKey"]}) as api:
            yield Console(host, keys["functionKey"], keys["masterKey"], api)
    finally:
        host.stop()


@pytest.fixture
def page(browser: Browser, console: Console, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page; the test fails if the page raised or asked anything of another origin."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: None if r.url.startswith(console.host.url + "/") else elsewhere.append(r.url))
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"the page raised: {errors}"
    assert not elsewhere, f"the page asked other origins: {elsewhere}"


@pytest.fixture
def chat(page: Page, console: Console) -> Callable[[str], None]:
    """Send a message from the open chat view, as a person would (Enter sends)."""
    def send(message: str) -> None:
        page.fill("#message", message)
        page.press("#message", "Enter")
    return send
