"""Workflows in the console: started from the page, shown with their stage and the runs they made (linked, and
sharing the workflow's trace), sent an event from the page, and listed with their instances."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.console.conftest import Console, trace_id
from tests.fixtures.model_server import ModelServer


def test_a_workflow_shows_its_stage_and_links_its_runs(console: Console, page: Page, model: ModelServer) -> None:
    model.say("Fresh bread, every morning.")  # the writer's draft
    page.goto(console.url("/workflows"))
    review = page.locator("section.workflow[data-workflow=review]")
    # Each form's example is what that workflow declares it takes.
    expect(review.locator("textarea")).to_have_attribute("placeholder", '{"brief":"…"}')
    expect(page.locator("section.workflow[data-workflow=delegate] textarea")).to_have_attribute(
        "placeholder", '{"agent":"…","message":"…"}')
    review.locator("textarea").fill('{"brief": "a bakery slogan"}')
    review.get_by_role("button", name="Start review").click()

    expect(page.locator("main h1")).to_contain_text("Workflow review-")
    workflow_id = page.locator("main h1 code").inner_text()
    run_id = f"{workflow_id}-draft-1"
    expect(page.locator(".stage")).to_have_text("awaiting_review", timeout=30_000)
    expect(page.locator(".custom")).to_contain_text("Fresh bread, every morning.")
    run_row = page.locator(f"tr[data-run-id='{run_id}']")
    expect(run_row).to_contain_text("writer")
    expect(run_row).to_contain_text("completed")
    expect(run_row).to_contain_text("15 tokens")
    # Only runs emit spans, and a workflow's runs carry the workflow's trace.
    expect(page.locator(".trace-id")).to_have_text(trace_id(workflow_id))

    page.locator("select[name=event]").select_option("review")
    expect(page.locator("textarea[name=body]")).to_have_attribute("placeholder", '{"approved":true}')
    page.locator("textarea[name=body]").fill('{"approved": true}')
    page.get_by_role("button", name="Send event").click()
    expect(page.locator("main .title-row .badge")).to_have_text("completed", timeout=30_000)
    expect(page.locator(".stage")).to_have_text("approved")
    expect(page.locator("main")).to_contain_text('"status": "approved"')

    run_row.get_by_role("link", name=run_id).click()
    expect(page.locator("main h1")).to_have_text(f"Run {run_id}")
    expect(page.locator(".trace-id")).to_have_text(trace_id(workflow_id))
    expect(page.locator(".response")).to_have_text("Fresh bread, every morning.")
    page.locator(".facts").get_by_role("link", name=workflow_id, exact=True).click()  # back to its workflow
    expect(page.locator("main h1")).to_have_text(f"Workflow {workflow_id}")

    page.get_by_role("link", name="Workflows", exact=True).click()
    row = page.locator(f"tr[data-workflow-id='{workflow_id}']")
    expect(row).to_contain_text("completed")
    expect(row).to_contain_text("approved")
    expect(row.locator("td").nth(3)).to_have_text("1")  # the runs it made
