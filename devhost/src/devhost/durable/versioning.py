"""Orchestration versions as the Durable extension has them: a default version, and what runs where.

host.json ``extensions.durableTask`` holds ``defaultVersion`` (the version this app's code is), ``versionMatchStrategy``
(``None``, ``Strict`` or ``CurrentOrOlder``, the default) and ``versionFailureStrategy`` (``Reject``, the default, or
``Fail``). A new orchestration, started by a client or as a sub-orchestration, gets the version it is started with or
else ``defaultVersion``; before each episode, an instance whose version does not match is either left waiting
(Reject: devhost holds its work until a host with a matching version serves the task hub) or failed (Fail).
docs/durable-protocol.md says where each rule comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MATCH_STRATEGIES = ("None", "Strict", "CurrentOrOlder")
FAILURE_STRATEGIES = ("Reject", "Fail")
MISMATCH_ERROR = "VersionMismatch"
MISMATCH_MESSAGE = "Orchestration version did not comply with Worker Versioning"
_DOTTED = re.compile(r"\d+(\.\d+){1,3}")  # what .NET's System.Version parses: two to four numbers


class VersioningError(ValueError):
    """host.json names a strategy the extension does not have."""


def compare_versions(a: str | None, b: str | None) -> int:
    """-1, 0 or 1 as ``a`` is older than, the same as or newer than ``b``, as the Durable Task Framework compares.

    A missing version is older than any other; two dotted versions compare number by number (a missing part is
    older than 0, so 1.0 < 1.0.0); anything else compares as text, ignoring case (so "10" < "9").
    """
    if not a or not b:
        return (bool(a) > bool(b)) - (bool(a) < bool(b))
    if _DOTTED.fullmatch(a) and _DOTTED.fullmatch(b):
        left, right = _parts(a), _parts(b)
    else:
        left, right = a.upper(), b.upper()  # type: ignore[assignment]
    return (left > right) - (left < right)


def _parts(version: str) -> tuple[int, ...]:
    numbers = [int(part) for part in version.split(".")]
    return tuple(numbers + [-1] * (4 - len(numbers)))


def _choice(settings: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = settings.get(key)
    if value is None:
        return default
    for choice in choices:
        if str(value).lower() == choice.lower():
            return choice
    raise VersioningError(f"host.json extensions.durableTask.{key} is {value!r}; use one of {', '.join(choices)}")


@dataclass(frozen=True)
class Versioning:
    """The task hub's versioning settings, from host.json."""

    default_version: str | None = None
    match: str = "CurrentOrOlder"
    failure: str = "Reject"

    @classmethod
    def from_settings(cls, durable_task: dict[str, Any]) -> Versioning:
        version = durable_task.get("defaultVersion")
        return cls(
            default_version=None if version is None else str(version),
            match=_choice(durable_task, "versionMatchStrategy", MATCH_STRATEGIES, "CurrentOrOlder"),
            failure=_choice(durable_task, "versionFailureStrategy", FAILURE_STRATEGIES, "Reject"),
        )

    def version_for(self, requested: str | None) -> str | None:
        """The version a new orchestration gets: the one it is started with, else the default."""
        return self.default_version if requested is None else requested

    def refuses(self, version: str | None) -> bool:
        """Whether an orchestration of ``version`` may not run on this app's code."""
        if self.default_version is None or self.match == "None":
            return False
        if self.match == "Strict":
            return version != self.default_version
        return compare_versions(version, self.default_version) > 0
