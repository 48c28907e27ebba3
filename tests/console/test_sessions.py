"""Sessions in the console: the list with turns and tokens, a session's history and runs, and the summary that
replaces its oldest turns once it has been compacted."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.console.conftest import SESSION_TOKEN_BUDGET, Console
from tests.fixtures.model_server import ModelServer


def usage_text(usage: dict[str, int]) -> str:
    return f"{usage['total_tokens']} (prompt {usage['prompt_tokens']}, completion {usage['completion_tokens']})"


def test_the_sessions_list_and_a_sessions_history(console: Console, page: Page, model: ModelServer) -> None:
    model.call_tools(("calculate", {"expression": "12*31"}))
    model.say("12 times 31 is 372.")
    model.say("You asked what 12*31 is.")
    first = console.run("assistant", "what is 12*31?", "hist-1")
    second = console.run("assistant", "what did I ask before?", "hist-1")
    session = console.api.get("/agents/assistant/sessions/hist-1").json()

    page.goto(console.url("/sessions/assistant"))
    row = page.locator("tr[data-session-id=hist-1]")
    expect(row).to_contain_text("what did I ask before?")  # the last thing the person said
    cells = row.locator("td").all_inner_texts()
    assert cells[1:4] == ["2", str(len(session["messages"])), f"{session['usage']['total_tokens']} tokens"]

    row.get_by_role("link", name="hist-1").click()
    expect(page.locator("main h1")).to_have_text("Session hist-1")
    expect(page.locator(".facts")).to_contain_text(usage_text(session["usage"]))
    history = page.locator(".history")
    expect(history.locator(".msg.user .text")).to_have_text(["what is 12*31?", "what did I ask before?"])
    expect(history.locator(".tool[data-tool=calculate] .tool-result")).to_have_text("372")
    expect(history.locator(".msg.assistant .text")).to_have_text(["12 times 31 is 372.", "You asked what 12*31 is."])
    expect(page.locator(".summary")).to_have_count(0)  # nothing compacted yet

    runs = page.locator("tr[data-run-id]")
    expect(runs).to_have_count(2)
    assert runs.evaluate_all("rows => rows.map(r => r.dataset.runId)") == [second["run_id"], first["run_id"]]
    runs.first.get_by_role("link", name=second["run_id"]).click()
    expect(page.locator("main h1")).to_have_text(f"Run {second['run_id']}")


def test_a_compacted_session_shows_its_summary(console: Console, page: Page, model: ModelServer) -> None:
    long_note = "Notes on the quarterly plan. " * (SESSION_TOKEN_BUDGET * 5 // 29)  # over the budget on its own
    model.say("Noted.")
    model.say("The user shared a long note on the quarterly plan.")  # the compaction's summary
    model.say("Yes, I have the summary.")
    console.run("assistant", long_note, "compact-1")
    console.run("assistant", "do you remember my notes?", "compact-1")
    session = console.api.get("/agents/assistant/sessions/compact-1").json()
    assert session["summary"] and session["compacted_messages"] == 2

    page.goto(console.url("/session/assistant/compact-1"))
    summary = page.locator("section.summary")
    expect(summary).to_contain_text("Summary of earlier turns")
    expect(summary).to_contain_text("The user shared a long note on the quarterly plan.")
    facts = page.locator(".facts")
    expect(facts).to_contain_text("Compacted messages2")
    expect(facts).to_contain_text(usage_text(session["usage"]))
    # What was folded into the summary is gone from the history; the turn after it is there.
    expect(page.locator(".history .msg.user .text")).to_have_text(["do you remember my notes?"])

    page.get_by_role("link", name="Continue in chat").click()
    expect(page.locator(".transcript .summary")).to_contain_text("The user shared a long note on the quarterly plan.")
    expect(page.locator(".transcript .msg.assistant .text")).to_have_text("Yes, I have the summary.")
