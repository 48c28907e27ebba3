"""Runs in the console: the list, a run's steps as a timeline with durations and tokens, its trace id, an approval
decided from the run's page, and the link to the run's instance in devhost's dashboard."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.console.conftest import Console, trace_id
from tests.fixtures.model_server import ModelServer

DURATION = re.compile(r"^\d+ ms$|^\d+\.\d s$")


def test_a_runs_timeline_shows_its_steps_with_durations_and_tokens(console: Console, page: Page,
                                                                   model: ModelServer) -> None:
    model.call_tools(("calculate", {"expression": "2+2"}))
    model.say("2 and 2 make 4.")
    run = console.run("assistant", "what is 2+2?", "runs-1")
    assert run["status"] == "completed"

    page.goto(console.url("/runs?agent=assistant"))
    row = page.locator(f"tr[data-run-id='{run['run_id']}']")
    expect(row).to_contain_text("completed")
    expect(row.locator("td").nth(4)).to_have_text("3")  # steps
    expect(row.locator("td").nth(5)).to_have_text("30 tokens")
    row.get_by_role("link", name=run["run_id"]).click()

    expect(page.locator("main h1")).to_have_text(f"Run {run['run_id']}")
    steps = page.locator(".tl-row")
    expect(steps).to_have_count(3)
    assert steps.evaluate_all("rows => rows.map(r => [r.dataset.kind, r.dataset.status])") == [
        ["model", "completed"], ["tool", "completed"], ["model", "completed"]]
    expect(steps.locator(".tl-name")).to_have_text(["assistant", "calculate", "assistant"])
    durations = steps.locator(".tl-duration").all_inner_texts()
    assert all(DURATION.match(d) for d in durations), durations
    expect(steps.locator(".tl-tokens")).to_have_text(["15 tokens", "", "15 tokens"])
    lefts = steps.locator(".tl-bar").evaluate_all("bars => bars.map(b => b.getBoundingClientRect().left)")
    assert lefts == sorted(lefts) and lefts[0] < lefts[-1], "the steps follow each other on the time axis"
    expect(page.locator(".response")).to_have_text("2 and 2 make 4.")
    expect(page.locator(".facts")).to_contain_text("30 tokens")

    # The id the run's spans carry, for a person to search for in a trace viewer (this app exports none).
    expect(page.locator(".trace-id")).to_have_text(trace_id(run["run_id"]))
    expect(page.locator(".trace")).to_contain_text("not exported")


def test_an_approval_is_decided_from_the_runs_page(console: Console, page: Page, model: ModelServer) -> None:
    model.call_tools(("send_email", {"to": "cy@example.com", "subject": "Hi", "body": "Hello."}))
    model.say("Sent.")
    run = console.run("assistant", "email cy", "runs-2", wait=False)
    console.wait_run(run["run_id"], {"awaiting_approval"})

    page.goto(console.url(f"/run/{run['run_id']}"))
    expect(page.locator(".badge").first).to_have_text("awaiting approval")
    expect(page.locator(".tl-row[data-kind=approval]")).to_have_attribute("data-status", "running")
    page.locator(".approval").get_by_role("button", name="Approve").click()
    # The page follows the run to its end: the approval, the tool and the last model call on its timeline.
    expect(page.locator("main .title-row .badge")).to_have_text("completed", timeout=30_000)
    expect(page.locator(".tl-row")).to_have_count(4)
    assert page.locator(".tl-row").evaluate_all("rows => rows.map(r => [r.dataset.kind, r.dataset.status])") == [
        ["model", "completed"], ["approval", "approved"], ["tool", "completed"], ["model", "completed"]]
    expect(page.locator(".response")).to_have_text("Sent.")


def test_the_dashboard_link_opens_the_runs_instance(console: Console, page: Page, model: ModelServer) -> None:
    run_id = console.run("assistant", "hello", "runs-3")["run_id"]

    # With the function key the page links to the instance without it: devhost's dashboard needs the master key.
    page.goto(console.url(f"/run/{run_id}"))
    link = page.locator(".title-row .devhost-link a")
    expect(link).to_have_attribute("href", f"{console.host.url}/devhost/#/instance/{run_id}")
    expect(link).to_have_attribute("title", re.compile("master key"))

    page.goto(console.url(f"/run/{run_id}", key=console.master_key))
    link = page.locator(".title-row .devhost-link a")
    href = f"{console.host.url}/devhost/?code={console.master_key}#/instance/{run_id}"
    expect(link).to_have_attribute("href", href)
    page.goto(href)
    expect(page.locator("h1")).to_have_text(run_id)
    expect(page.locator("#details")).to_contain_text("Completed")
