"""NCRONTAB schedules as timer triggers use them: ``sec min hour day month day-of-week``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
_DAYS = "sun mon tue wed thu fri sat".split()
_FIELDS = (("second", 0, 59, None), ("minute", 0, 59, None), ("hour", 0, 23, None),
           ("day", 1, 31, None), ("month", 1, 12, _MONTHS), ("day-of-week", 0, 6, _DAYS))


class ScheduleError(ValueError):
    """A schedule that is not a valid six-field NCRONTAB expression."""


def _values(text: str, name: str, low: int, high: int, names: list[str] | None) -> frozenset[int]:
    def number(token: str) -> int:
        if names and token.lower()[:3] in names:
            return names.index(token.lower()[:3]) + (1 if name == "month" else 0)
        try:
            value = int(token)
        except ValueError as exc:
            raise ScheduleError(f"{name} field: {token!r} is not a number") from exc
        if name == "day-of-week" and value == 7:
            value = 0
        if not low <= value <= high:
            raise ScheduleError(f"{name} field: {value} is outside {low}-{high}")
        return value

    out: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ScheduleError(f"{name} field: step {step_text!r} must be a positive number")
        if body == "*":
            first, last = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            first, last = number(a), number(b)
        else:
            first = number(body)
            last = high if step else first
        out.update(range(first, last + 1, step or 1))
    return frozenset(out)


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule; ``next_after`` gives the next firing time strictly after a moment."""

    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    day_restricted: bool
    weekday_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> Schedule:
        fields = expression.split()
        if len(fields) != 6:
            raise ScheduleError(
                f"schedule {expression!r} has {len(fields)} fields; timer triggers need six: "
                "second minute hour day month day-of-week, e.g. '0 */5 * * * *'"
            )
        parsed = [_values(text, *spec) for text, spec in zip(fields, _FIELDS, strict=True)]
        return cls(*parsed, day_restricted=fields[3] != "*", weekday_restricted=fields[5] != "*")

    def _day_matches(self, moment: datetime) -> bool:
        if moment.month not in self.months:
            return False
        weekday = (moment.weekday() + 1) % 7
        day_ok, weekday_ok = moment.day in self.days, weekday in self.weekdays
        if self.day_restricted and self.weekday_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    def next_after(self, moment: datetime) -> datetime:
        start = moment.replace(microsecond=0) + timedelta(seconds=1)
        day = start.replace(hour=0, minute=0, second=0)
        for _ in range(366 * 5):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        for second in sorted(self.seconds):
                            candidate = day.replace(hour=hour, minute=minute, second=second)
                            if candidate >= start:
                                return candidate
            day += timedelta(days=1)
        raise ScheduleError("the schedule never fires in the next five years")
