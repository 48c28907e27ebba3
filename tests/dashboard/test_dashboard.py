"""The devhost dashboard in a real browser: list and filter, timelines, raising events, terminating, entities."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import APP, ARTIFACTS
from tests.fixtures.processes import Devhost

MGMT = "/runtime/webhooks/durabletask"


def start(host: Devhost, name: str, instance_id: str, data: object = None) -> None:
    response = httpx.post(f"{host.url}{MGMT}/orchestrators/{name}/{instance_id}", json=data)
    assert response.status_code == 202, response.text


def wait_for(host: Devhost, instance_id: str, statuses: set[str], timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = httpx.get(f"{host.url}{MGMT}/instances/{instance_id}").json()
        if status.get("runtimeStatus") in statuses:
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


@pytest.fixture(scope="module", autouse=True)
def instances(host: Devhost) -> None:
    start(host, "greetings", "greet-1")
    start(host, "greetings", "greet-2")
    start(host, "waiter", "wait-1")
    start(host, "failing", "fail-1")
    httpx.post(f"{host.url}{MGMT}/entities/Tally/apples", params={"op": "add"}, json=3)
    for done in ("greet-1", "greet-2", "fail-1"):
        wait_for(host, done, {"Completed", "Failed"})
    wait_for(host, "wait-1", {"Running"})


def rows(page: Page) -> list[str]:
    return page.locator("#list tbody tr").evaluate_all("rows => rows.map(r => r.dataset.instanceId)")


def filter_by(page: Page, **fields: str) -> None:
    """Set the list's filters to exactly ``fields`` (others cleared) and apply them."""
    page.select_option("select[name=runtimeStatus]", fields.pop("runtimeStatus", ""))
    for name in ("name", "instanceIdPrefix", "createdTimeFrom", "createdTimeTo"):
        page.fill(f"input[name={name}]", fields.pop(name, ""))
    assert not fields, f"no such filter: {fields}"
    page.click("form.filters button[type=submit]")


def test_the_list_shows_running_and_finished_instances_and_the_filters_work(host: Devhost, page: Page) -> None:
    page.goto(f"{host.url}/devhost/")
    expect(page.locator("tr[data-instance-id='wait-1']")).to_contain_text("Running")
    expect(page.locator("tr[data-instance-id='greet-1']")).to_contain_text("Completed")
    expect(page.locator("tr[data-instance-id='fail-1']")).to_contain_text("Failed")
    assert {"greet-1", "greet-2", "greet-1-child", "wait-1", "fail-1"} <= set(rows(page))
    started = [i for i in rows(page) if i in {"greet-1", "greet-2", "wait-1", "fail-1"}]
    assert started == ["fail-1", "wait-1", "greet-2", "greet-1"]  # newest first

    filter_by(page, runtimeStatus="Running")
    expect(page.locator("#list tbody tr")).to_have_count(1)
    assert rows(page) == ["wait-1"]

    filter_by(page, name="greetings")
    expect(page.locator("#list tbody tr")).to_have_count(2)
    assert set(rows(page)) == {"greet-1", "greet-2"}

    filter_by(page, instanceIdPrefix="fail")
    expect(page.locator("#list tbody tr")).to_have_count(1)
    assert rows(page) == ["fail-1"]

    filter_by(page, createdTimeFrom="2001-01-01T00:00", createdTimeTo="2001-12-31T00:00")
    expect(page.locator("#list")).to_contain_text("No orchestration matches.")


def test_an_instance_shows_its_timeline_and_links_its_sub_orchestration(host: Devhost, page: Page) -> None:
    page.goto(f"{host.url}/devhost/#/instance/greet-1")
    timeline = page.locator("#timeline")
    activities = timeline.locator(".tl-row[data-kind=activity]")
    expect(activities).to_have_count(3)
    for city in ("Tokyo", "Seattle", "London"):
        expect(page.locator("#output")).to_contain_text(f"Hello {city}")
    assert activities.evaluate_all("rows => rows.map(r => r.dataset.status)") == ["completed"] * 3
    expect(activities.first.locator(".tl-label")).to_contain_text("hello")
    bars = activities.locator(".tl-bar")
    widths = bars.evaluate_all("bars => bars.map(b => b.getBoundingClientRect().width)")
    assert all(width >= 3 for width in widths)
    lefts = bars.evaluate_all("bars => bars.map(b => b.getBoundingClientRect().left)")
    assert lefts == sorted(lefts) and lefts[0] < lefts[-1], "a chain's steps follow each other on the time axis"

    page.screenshot(path=str(ARTIFACTS / "instance-timeline.png"))  # the README's picture (docs/dashboard.png)

    page.click(".tl-row[data-kind=sub-orchestration] a")
    expect(page.locator("h1")).to_have_text("greet-1-child")
    expect(page.locator("#output")).to_contain_text("Hello Paris")


def test_a_failed_instance_shows_its_failure(host: Devhost, page: Page) -> None:
    page.goto(f"{host.url}/devhost/#/instance/fail-1")
    expect(page.locator("#failure")).to_contain_text("Activity function 'explode' failed: the reactor is too hot")
    # Nothing stray between the status line and the failure (an absent approval panel leaves no trace).
    assert page.locator("#details").evaluate("d => [...d.childNodes].every(n => n.nodeType === Node.ELEMENT_NODE)")
    expect(page.locator(".tl-row[data-kind=activity]")).to_have_attribute("data-status", "failed")


def test_raising_an_event_from_the_page_completes_a_waiting_orchestration(host: Devhost, page: Page) -> None:
    page.goto(f"{host.url}/devhost/#/instance/wait-1")
    expect(page.locator("#custom-status")).to_contain_text("waiting for proceed")
    page.fill("input[name=eventName]", "proceed")
    page.fill("input[name=eventData]", "{not json")
    page.click("button[data-action=raise]")
    expect(page.locator("#toast")).to_contain_text("not JSON")
    assert httpx.get(f"{host.url}{MGMT}/instances/wait-1").json()["runtimeStatus"] == "Running"

    page.fill("input[name=eventData]", '{"by": "the dashboard"}')
    page.click("button[data-action=raise]")
    expect(page.locator("#details .badge").first).to_have_text("Completed")
    expect(page.locator("#output")).to_contain_text("the dashboard")
    assert wait_for(host, "wait-1", {"Completed"})["output"] == {"received": {"by": "the dashboard"}}


def test_a_pending_approval_gets_approve_and_deny_buttons(host: Devhost, page: Page) -> None:
    start(host, "approver", "approve-1")
    wait_for(host, "approve-1", {"Running"})
    page.goto(f"{host.url}/devhost/#/instance/approve-1")
    expect(page.locator("#approval")).to_contain_text("Waiting for approval: send_email")
    expect(page.locator("#approval")).to_contain_text("ada@example.com")
    page.click("button[data-action=approve]")
    assert wait_for(host, "approve-1", {"Completed"})["output"] == {"approved": True}
    expect(page.locator("#approval")).to_have_count(0)


def test_terminate_suspend_resume_restart_and_purge_from_the_page(host: Devhost, page: Page) -> None:
    start(host, "waiter", "stuck-1")
    wait_for(host, "stuck-1", {"Running"})
    page.goto(f"{host.url}/devhost/#/instance/stuck-1")
    expect(page.locator("#details .badge").first).to_have_text("Running")
    page.click("button[data-action=suspend]")
    expect(page.locator("#details .badge").first).to_have_text("Suspended")
    page.click("button[data-action=resume]")
    expect(page.locator("#details .badge").first).to_have_text("Running")

    page.fill("input[name=reason]", "stuck for too long")
    page.click("button[data-action=terminate]")
    expect(page.locator("#details .badge").first).to_have_text("Terminated")
    assert wait_for(host, "stuck-1", {"Terminated"})["output"] == "stuck for too long"

    page.click("button[data-action=restart]")
    expect(page.locator("h1")).not_to_have_text("stuck-1")
    restarted = page.locator("h1").inner_text()
    assert wait_for(host, restarted, {"Running"})["name"] == "waiter"

    page.goto(f"{host.url}/devhost/#/instance/stuck-1")
    page.click("button[data-action=purge]")
    expect(page.locator("form.filters")).to_be_visible()
    assert httpx.get(f"{host.url}{MGMT}/instances/stuck-1").status_code == 404


def test_a_view_left_while_it_was_loading_does_not_come_back(host: Devhost, page: Page) -> None:
    start(host, "waiter", "slow-1")
    wait_for(host, "slow-1", {"Running"})

    def slowly(route) -> None:  # the instance's answers arrive after the person has moved on
        time.sleep(0.8)
        route.continue_()

    page.route("**/devhost/api/instances/slow-1**", slowly)
    page.goto(f"{host.url}/devhost/#/instance/slow-1")
    page.evaluate("location.hash = '#/entities'")
    expect(page.locator("tr[data-entity='@tally@apples']")).to_be_visible()
    page.wait_for_timeout(3500)  # past the late answer and the refresh it used to schedule
    expect(page.locator("h1")).to_have_text("Entities")


def test_entities_are_listed_with_their_state(host: Devhost, page: Page) -> None:
    page.goto(f"{host.url}/devhost/#/entities")
    expect(page.locator("tr[data-entity='@tally@apples']")).to_contain_text("3")


def test_the_json_api_answers_errors_as_json(host: Devhost) -> None:
    api = f"{host.url}/devhost/api"
    missing = httpx.get(f"{api}/instances/nope/timeline")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "InstanceNotFound"
    assert httpx.get(f"{api}/nothing-here").status_code == 404
    assert httpx.post(f"{api}/hubs").status_code == 405
    bad_hub = httpx.get(f"{api}/hubs", params={"taskHub": "no good"})
    assert bad_hub.status_code == 400 and bad_hub.json()["error"]["code"] == "InvalidTaskHub"
    bad_status = httpx.get(f"{api}/instances", params={"runtimeStatus": "Sleeping"})
    assert bad_status.status_code == 400 and "Sleeping" in bad_status.json()["error"]["message"]
    hubs = httpx.get(f"{api}/hubs").json()
    assert hubs["default"] == "dashboardtests" and hubs["hubs"][0]["counts"]["Completed"] >= 2
    timeline = httpx.get(f"{api}/instances/greet-1/timeline").json()
    assert [s["name"] for s in timeline["spans"]] == ["hello", "hello", "hello", "single"]
    assert timeline["spans"][3]["instanceId"] == "greet-1-child"


def test_with_enforced_keys_the_api_needs_the_master_key(tmp_path) -> None:
    server = Devhost(app_dir=APP, data_dir=tmp_path / "data", args=["--enforce-auth"]).start()
    try:
        keys = json.loads((tmp_path / "data" / "keys.json").read_text())
        assert httpx.get(f"{server.url}/devhost/").status_code == 200
        assert httpx.get(f"{server.url}/devhost/api/hubs").status_code == 401
        assert httpx.get(f"{server.url}/devhost/api/hubs", params={"code": keys["functionKey"]}).status_code == 401
        assert httpx.get(f"{server.url}/devhost/api/hubs", params={"code": keys["masterKey"]}).status_code == 200
    finally:
        server.stop()
