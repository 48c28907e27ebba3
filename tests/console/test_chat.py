"""Chat in the console: the answer streams in, tool calls and their results show inline, and a tool that needs
approval is approved or denied on the page, after which the run goes on to its end."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.console.conftest import Console
from tests.fixtures.model_server import ModelServer

ANSWER = ("Durable functions keep their state between steps, so a crash resumes after the last committed step "
          "instead of starting over.")
# Records, on every change of the page, how much of the newest turn's answer is shown and the turn's status.
WATCH_TEXT = """() => {
  window.seen = [];
  new MutationObserver(() => {
    const turn = [...document.querySelectorAll(".turn")].pop();
    const text = turn?.querySelector(".parts .text");
    if (text) window.seen.push([text.textContent.length, turn.dataset.status]);
  }).observe(document.getElementById("main"), { subtree: true, childList: true, characterData: true });
}"""


def open_chat(page: Page, console: Console, session_id: str) -> None:
    page.goto(console.url(f"/chat/assistant/{session_id}"))
    expect(page.locator("#chat-title")).to_contain_text("assistant")


def test_the_answer_streams_in_as_the_model_writes_it(console: Console, page: Page, model: ModelServer,
                                                       chat: Callable[[str], None]) -> None:
    model.say(ANSWER, chunk_delay=0.05)  # 4 characters a chunk: about 30 pieces over 1.5 s
    open_chat(page, console, "chat-stream")
    page.evaluate(WATCH_TEXT)
    chat("tell me about durable functions")

    turn = page.locator(".turn").last
    expect(turn).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(turn.locator(".parts .text")).to_have_text(ANSWER)
    seen = page.evaluate("window.seen")
    partial = sorted({length for length, status in seen if 0 < length < len(ANSWER) and status == "running"})
    assert len(partial) >= 5, f"the answer arrived in too few pieces: {partial}"
    lengths = [length for length, _ in seen]
    assert lengths == sorted(lengths), "the text only ever grows"
    expect(page.locator(".msg.user .text").last).to_have_text("tell me about durable functions")


def test_tool_calls_and_their_results_show_inline(console: Console, page: Page, model: ModelServer,
                                                 chat: Callable[[str], None]) -> None:
    model.call_tools(("calculate", {"expression": "6*7"}))
    model.say("6 times 7 is 42.")
    open_chat(page, console, "chat-tools")
    chat("what is 6*7?")

    turn = page.locator(".turn").last
    expect(turn).to_have_attribute("data-status", "completed", timeout=30_000)
    card = turn.locator(".tool[data-tool=calculate]")
    expect(card).to_have_attribute("data-state", "completed")
    expect(card.locator(".tool-args")).to_have_text('{"expression":"6*7"}')
    expect(card.locator(".tool-result")).to_have_text("42")
    expect(turn.locator(".parts .text")).to_have_text("6 times 7 is 42.")
    # The tool card comes before the answer it led to, and the turn says what it cost (two model calls).
    assert turn.locator(".parts > *").evaluate_all("parts => parts.map(p => p.className)") == ["tool", "text"]
    expect(turn.locator(".turn-status")).to_contain_text("completed · 30 tokens")

    # A reload shows the same conversation from the session.
    page.reload()
    history = page.locator(".msg.assistant").last
    expect(history.locator(".tool[data-tool=calculate] .tool-result")).to_have_text("42")
    expect(history.locator(".text")).to_have_text("6 times 7 is 42.")


def test_an_approval_granted_on_the_page_lets_the_run_finish(console: Console, page: Page, model: ModelServer,
                                                            chat: Callable[[str], None]) -> None:
    email = {"to": "ada@example.com", "subject": "Report", "body": "It is ready."}
    model.call_tools(("send_email", email))
    model.say("I sent the email to Ada.")
    open_chat(page, console, "chat-approve")
    chat("email ada that the report is ready")

    approval = page.locator(".turn .approval")
    expect(approval).to_have_attribute("data-state", "pending", timeout=30_000)
    expect(approval).to_contain_text("send_email needs your approval")
    expect(approval.locator("pre")).to_contain_text('"to": "ada@example.com"')
    turn = page.locator(".turn").last
    run_id = turn.get_attribute("data-run-id")
    assert console.api.get(f"/runs/{run_id}").json()["status"] == "awaiting_approval"

    approval.locator("input[name=comment]").fill("looks right")
    approval.get_by_role("button", name="Approve").click()
    expect(approval).to_have_attribute("data-state", "approved")
    expect(turn).to_have_attribute("data-status", "completed", timeout=30_000)
    card = turn.locator(".tool[data-tool=send_email]")
    expect(card).to_have_attribute("data-state", "completed")
    expect(card.locator(".tool-result")).to_contain_text("sent to ada@example.com")
    expect(turn.locator(".parts .text")).to_have_text("I sent the email to Ada.")

    run = console.api.get(f"/runs/{run_id}").json()
    assert run["status"] == "completed"
    assert [s["status"] for s in run["steps"] if s["kind"] == "approval"] == ["approved"]
    assert any("ada@example.com" in path.read_text() for path in console.outbox.glob("*.json"))


def test_a_denial_on_the_page_tells_the_model_and_sends_nothing(console: Console, page: Page, model: ModelServer,
                                                               chat: Callable[[str], None]) -> None:
    model.call_tools(("send_email", {"to": "bob@example.com", "subject": "Oops", "body": "It failed."}))
    model.say("Understood, I did not send it.")
    open_chat(page, console, "chat-deny")
    chat("email bob that it failed")

    approval = page.locator(".turn .approval")
    expect(approval).to_have_attribute("data-state", "pending", timeout=30_000)
    approval.locator("input[name=comment]").fill("not today")
    approval.get_by_role("button", name="Deny").click()
    expect(approval).to_have_attribute("data-state", "denied")
    turn = page.locator(".turn").last
    expect(turn).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(turn.locator(".parts .text")).to_have_text("Understood, I did not send it.")
    expect(turn.locator(".tool[data-tool=send_email]")).to_have_count(0)  # the tool never ran

    run = console.api.get(f"/runs/{turn.get_attribute('data-run-id')}").json()
    assert [s["status"] for s in run["steps"] if s["kind"] == "approval"] == ["denied"]
    told = model.chat_requests()[-1]["body"]["messages"][-1]
    assert told["role"] == "tool" and told["content"] == "A person denied running send_email: not today"
    assert not any("bob@example.com" in path.read_text() for path in console.outbox.glob("*.json"))
