"""devhost's replay speed-ups give the SDK the same values it would compute itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from dateutil.parser import parse as dateutil_parse

from devhost.durable import sdk_speedups
from devhost.durable.history import parse_timestamp, timestamp


def test_the_fixed_form_reads_as_dateutil_reads_it() -> None:
    for text in ("2026-11-24T20:14:00.123456Z", "2026-01-01T00:00:00.000000Z", "2024-02-29T23:59:59.999999Z"):
        ours, theirs = sdk_speedups.parse(text), dateutil_parse(text)
        assert ours == theirs and str(ours) == str(theirs) and ours.utcoffset() == timedelta(0)
        assert sdk_speedups.parse(text) is ours  # read once, shared after
    for other in ("2026-11-24T20:14:00Z", "2026-11-24 20:14:00+02:00", "2026-11-24T20:14:00.1234567Z"):
        assert sdk_speedups.parse(other) == dateutil_parse(other)


def test_devhost_writes_timestamps_in_the_fixed_form() -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=timezone(timedelta(hours=-7)))
    text = timestamp(moment)
    assert text == "2026-03-04T12:06:07.000089Z" and len(text) == 27
    assert parse_timestamp(text) == moment == sdk_speedups.parse(text)
    assert timestamp(datetime(2026, 3, 4, tzinfo=UTC)) == "2026-03-04T00:00:00.000000Z"


def test_the_sdk_executor_builds_its_payload_class_once() -> None:
    from azure.durable_functions.models.TaskOrchestrationExecutor import TaskOrchestrationExecutor

    sdk_speedups.install()
    first, second = TaskOrchestrationExecutor(), TaskOrchestrationExecutor()
    payloads = list(first.event_to_SetTaskValuePayload.values())
    assert type(payloads[0]) is type(next(iter(second.event_to_SetTaskValuePayload.values())))
    assert {(p.is_success, p.task_id_key) for p in payloads} >= {(True, "TaskScheduledId"), (False, "TaskScheduledId"),
                                                                  (True, "TimerId"), (True, "Name")}
