"""The devhost dashboard in a real browser: list and filter, timelines, JSON, versions, actions, rewind, entities."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import APP, ARTIFACTS
from tests.fixtures.processes import Devhost

MGMT = "/runtime/webhooks/durabletask"


def start(host: Devhost, name: str, instance_id: str, data: object = None, **params: str) -> None:
    response = httpx.post(f"{host.url}{MGMT}/orchestrators/{name}/{instance_id}", json=data, params=params)
    assert response.status_code == 202, response.text


def wait_for(host: Devhost, instance_id: str, statuses: set[str], timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = httpx.get(f"{host.url}{MGMT}/instances/{instance_id}").json()
        if status.get("runtimeStatus") in statuses:
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def pretty(text: str) -> str:
    """JSON text as the page pretty-prints it (JSON.stringify(value, null, 2))."""
    return json.dumps(json.loads(text), indent=2)


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

    page.screenshot(path=str(ARTIFACTS / "instance-timeline.png"))

    sub = page.locator(".tl-row[data-kind=sub-orchestration] .tl-label")
    expect(sub).to_contain_text("single")
    expect(sub.locator(".iid")).to_have_text("greet-1-child")  # named by its instance ID too
    page.click(".tl-row[data-kind=sub-orchestration] a")
    expect(page.locator("h1")).to_have_text("greet-1-child")
    expect(page.locator("#output")).to_contain_text("Hello Paris")


def test_a_failed_instance_shows_its_failure(host: Devhost, page: Page) -> None:
    page.goto(f"{host.url}/devhost/#/instance/fail-1")
    expect(page.locator("#failure")).to_contain_text("Activity function 'explode' failed: the reactor is too hot")
    # Nothing stray between the status line and the failure (an absent approval panel leaves no trace).
    assert page.locator("#details").evaluate("d => [...d.childNodes].every(n => n.nodeType === Node.ELEMENT_NODE)")
    expect(page.locator(".tl-row[data-kind=activity]")).to_have_attribute("data-status", "failed")
    expect(page.locator("#timeline table.marks tr").last.locator("td").nth(1)).to_have_text("failed")


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


def test_json_text_is_shown_as_json_in_a_failed_instance(host: Devhost, page: Page) -> None:
    order = json.dumps({"order": "A-1042", "items": ["tea", "scones"]})
    start(host, "checkout", "checkout-1", order)  # the input is a string holding JSON
    wait_for(host, "checkout-1", {"Failed"})
    page.goto(f"{host.url}/devhost/#/instance/checkout-1")
    expect(page.locator("#failure")).to_contain_text("payment declined: card expired")
    expect(page.locator("#input pre")).to_have_text(pretty(order))
    custom = '{"step": "charging", "reserved": ["tea", "scones"]}'
    expect(page.locator("#custom-status pre")).to_have_text(pretty(custom))

    reserve = page.locator(".tl-row[data-kind=activity]").first
    result = pretty('{"reserved": ["tea", "scones"], "warehouse": "north"}')
    expect(reserve).to_have_attribute("title", result)
    detail = page.locator(".tl-detail").first
    expect(detail).to_be_hidden()
    reserve.click()  # a span's input and result open under it
    expect(detail).to_be_visible()
    expect(detail.locator("pre").nth(0)).to_have_text(pretty(order))
    expect(detail.locator("pre").nth(1)).to_have_text(result)
    expect(page.locator("#output")).to_contain_text("it failed")  # not the failure again, as an escaped string

    page.set_viewport_size({"width": 1280, "height": 1240})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "instance-failed.png"), full_page=True)  # the README's (docs/dashboard.png)


def test_event_data_and_an_output_of_json_text_are_shown_as_json(host: Devhost, page: Page) -> None:
    start(host, "echo_text", "echo-1")
    wait_for(host, "echo-1", {"Running"})
    raised = httpx.post(f"{host.url}{MGMT}/instances/echo-1/raiseEvent/go", json='{"by": "curl"}')
    assert raised.status_code == 202, raised.text
    output = wait_for(host, "echo-1", {"Completed"})["output"]
    assert isinstance(output, str)
    page.goto(f"{host.url}/devhost/#/instance/echo-1")
    expect(page.locator("#output pre")).to_have_text(pretty(output))
    expect(page.locator("#timeline table.marks pre")).to_have_text(pretty('{"by": "curl"}'))


def test_the_version_is_shown_in_the_list_and_the_instance(host: Devhost, page: Page) -> None:
    start(host, "single", "versioned-1", '"Oslo"', version="2.1")  # the Python SDK decodes a string input twice
    assert wait_for(host, "versioned-1", {"Completed"})["version"] == "2.1"
    page.goto(f"{host.url}/devhost/")
    expect(page.locator("#list th").nth(2)).to_have_text("Version")
    expect(page.locator("tr[data-instance-id='versioned-1'] td").nth(2)).to_have_text("2.1")
    filter_by(page, name="greetings")  # none of these has a version: no column
    expect(page.locator("#list tbody tr")).to_have_count(2)
    expect(page.locator("#list th")).to_have_text(["Instance ID", "Name", "Status", "Created", "Updated"])

    page.goto(f"{host.url}/devhost/#/instance/versioned-1")
    expect(page.locator("#version")).to_have_text("version 2.1")
    page.goto(f"{host.url}/devhost/#/instance/greet-1")
    expect(page.locator("#output")).to_contain_text("Hello Paris")
    expect(page.locator("#version")).to_have_count(0)


def test_a_failed_instance_is_rewound_from_the_page_and_completes(host: Devhost, page: Page) -> None:
    start(host, "rewindable", "rewind-1")
    wait_for(host, "rewind-1", {"Failed"})
    page.goto(f"{host.url}/devhost/#/instance/greet-1")
    expect(page.locator("#details .badge").first).to_have_text("Completed")
    expect(page.locator("button[data-action=rewind]")).to_be_hidden()  # only a failed instance can be rewound

    page.goto(f"{host.url}/devhost/#/instance/rewind-1")
    expect(page.locator("#failure")).to_contain_text("rewind-1: the first attempt fails")
    page.fill("input[name=rewindReason]", "the flake is fixed")
    page.click("button[data-action=rewind]")
    expect(page.locator("#toast")).to_have_text("Rewound")
    expect(page.locator("#details .badge").first).to_have_text("Completed")
    expect(page.locator("#output")).to_contain_text("rewind-1 ok on a later attempt")
    expect(page.locator("#failure")).to_have_count(0)
    expect(page.locator("button[data-action=rewind]")).to_be_hidden()
    assert wait_for(host, "rewind-1", {"Completed"})["output"] == "rewind-1 ok on a later attempt"


def test_entities_show_their_last_failed_operation(host: Devhost, page: Page) -> None:
    for key, op, data in [("kept", "set", 5), ("kept", "break", None), ("never", "break", None)]:
        sent = httpx.post(f"{host.url}{MGMT}/entities/Picky/{key}", params={"op": op}, json=data)
        assert sent.status_code == 202, sent.text
    deadline = time.monotonic() + 20
    while True:
        failed = {e["key"] for e in httpx.get(f"{host.url}/devhost/api/entities").json() if e["lastFailure"]}
        if {"kept", "never"} <= failed:
            break
        assert time.monotonic() < deadline, failed
        time.sleep(0.05)
    page.goto(f"{host.url}/devhost/#/entities")
    kept = page.locator("tr[data-entity='@picky@kept']")
    expect(kept.locator(".entity-failure")).to_contain_text("break")
    expect(kept.locator(".entity-failure")).to_contain_text("picky refuses to break")
    expect(kept.locator("td").nth(3)).to_have_text("5")
    never = page.locator("tr[data-entity='@picky@never']")  # it never existed, but an operation on it failed
    expect(never).to_have_attribute("data-exists", "false")
    expect(never.locator("td").nth(3)).to_have_text("does not exist (no state)")
    expect(never.locator(".entity-failure")).to_contain_text("picky refuses to break")


def test_entity_state_of_json_text_is_shown_as_json(host: Devhost, page: Page) -> None:
    note = '{"text": "hi", "tags": ["a", "b"]}'
    httpx.post(f"{host.url}{MGMT}/entities/Note/n1", params={"op": "keep"}, json=note)  # the input is JSON text
    page.goto(f"{host.url}/devhost/#/entities")
    expect(page.locator("tr[data-entity='@note@n1'] pre")).to_have_text(pretty(note))
