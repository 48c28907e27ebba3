"""Dashboard tests drive the page in headless Chromium (Debian's package) with Playwright, against devhost."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.fixtures.processes import Devhost

APP = Path(__file__).parent / "app"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these, Chromium reaches for Google's services at start, which this closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devhost]:
    root = tmp_path_factory.mktemp("dashboard")
    (root / "state").mkdir()  # the app's marker files (an activity that fails only the first time)
    server = Devhost(app_dir=APP, data_dir=root / "data", env={"DASHBOARD_STATE_DIR": str(root / "state")}).start()
    yield server
    server.stop()


@contextmanager
def launched() -> Iterator[Browser]:
    """Headless Debian chromium under Playwright's sync API, which runs an event loop in this thread while it is
    open: close it before tests that run loops of their own (a fixture scoped to a module or a package)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: ./scripts/test installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"the page raised: {errors}"
