"""The console page and its key: served behind the function key, its files anonymous, its API calls keyed; the
agents view; and the read-only list routes it adds, which refuse bad input with a 4xx and hold the key too."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, Request, expect

from tests.console.conftest import Console

LIST_ROUTES = ["/runs", "/workflows", "/agents/assistant/sessions", "/runs/anything/trace"]


def test_the_page_needs_the_function_key(console: Console, page: Page) -> None:
    bare = httpx.get(f"{console.host.url}/api/console")
    assert bare.status_code == 401
    assert bare.json()["error"]["code"] == "Unauthorized"
    assert httpx.get(f"{console.host.url}/api/console", params={"code": "not-the-key"}).status_code == 401

    opened = page.goto(f"{console.host.url}/api/console")
    assert opened is not None and opened.status == 401
    expect(page.locator("body")).to_contain_text("Unauthorized")

    keyed = httpx.get(f"{console.host.url}/api/console", params={"code": console.function_key})
    assert keyed.status_code == 200
    assert keyed.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in keyed.headers["content-security-policy"]
    # The files hold no data (a <script> tag cannot send a key), and nothing but the package's own is served.
    assert httpx.get(f"{console.host.url}/api/console/app.js").status_code == 200
    missing = httpx.get(f"{console.host.url}/api/console/secrets.py")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"


def test_every_api_call_of_the_page_carries_its_key(console: Console, page: Page,
                                                     api_calls: list[Request]) -> None:
    for fragment, title in (("/", "Agents"), ("/runs", "Runs"), ("/workflows", "Workflows"),
                            ("/sessions/assistant", "Sessions")):
        page.goto(console.url(fragment))
        expect(page.locator("main h1")).to_have_text(title)
    called = {r.url.split("/api/", 1)[1].split("?")[0] for r in api_calls}
    assert {"agents", "health", "runs", "workflows", "agents/assistant/sessions"} <= called
    assert {r.headers.get("x-functions-key") for r in api_calls} == {console.function_key}


def test_the_agents_view_lists_every_agent_with_its_tools(console: Console, page: Page) -> None:
    agents = console.api.get("/agents").json()["agents"]
    page.goto(console.url("/"))
    cards = page.locator(".card.agent")
    expect(cards).to_have_count(len(agents))
    assistant = page.locator(".card.agent[data-agent=assistant]")
    expect(assistant).to_contain_text("A general assistant")
    tools = [t["name"] for t in next(a for a in agents if a["name"] == "assistant")["tools"]]
    assert assistant.locator(".tools li").evaluate_all("items => items.map(i => i.dataset.tool)") == tools
    expect(assistant.locator("li[data-tool=send_email]")).to_contain_text("needs approval")
    expect(assistant.locator("li[data-tool=count_primes]")).to_contain_text("long-running")
    assistant.get_by_role("link", name="Chat").click()
    expect(page.locator("#chat-title")).to_contain_text("assistant")
    assert "#/chat/assistant/" in page.url  # a new session of its own, in the address


@pytest.mark.parametrize("path", LIST_ROUTES)
def test_the_list_routes_need_the_key(console: Console, path: str) -> None:
    answer = httpx.get(f"{console.host.url}/api{path}")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "Unauthorized"


@pytest.mark.parametrize(("path", "params", "status", "code"), [
    ("/runs", {"since": "yesterday"}, 400, "InvalidParameter"),
    ("/runs", {"since": "2026-13-01"}, 400, "InvalidParameter"),
    ("/runs", {"since": "0001-01-01T00:00:00+05:00"}, 400, "InvalidParameter"),
    ("/runs", {"since": "9999-12-31T23:00:00-05:00"}, 400, "InvalidParameter"),
    ("/runs", {"since": "\x00"}, 400, "InvalidParameter"),
    ("/workflows", {"name": "no-such-workflow"}, 404, "UnknownWorkflow"),
    ("/agents/no-such-agent/sessions", {}, 404, "AgentNotFound"),
    ("/runs/no-such-run/trace", {}, 404, "RunNotFound"),
])
def test_the_list_routes_refuse_bad_input_with_a_4xx(console: Console, path: str, params: dict[str, str],
                                                      status: int, code: str) -> None:
    answer = console.api.get(path, params=params)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


@pytest.mark.parametrize("since", ["0001-01-01", "1900-01-01T00:00:00", "2020-01-01T00:00:00Z", "2999-01-01"])
def test_any_valid_since_is_answered(console: Console, since: str) -> None:
    answer = console.api.get("/runs", params={"since": since})
    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json()["runs"], list)
