"""Property-based fuzzing of every operation in the served OpenAPI document, over real HTTP against devhost.

Each operation gets requests that fit its schema and requests that break it; then chains of calls follow the
document's links (a started run's id to its status, stream, approval and cancel; a started workflow's id to its
status and events), so the routes are also fuzzed on runs and workflows that exist. No request may get a 5xx,
every 4xx carries the JSON error body, and every answer is one the document describes (status, content type,
schema). The figures print with ``pytest -s``.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import FlakyStrategyDefinition, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance
from schemathesis.core.failures import FailureGroup

from tests.fixtures.processes import Devhost

# Bounds the test at about a minute on two shared cores (~25 operations, both modes, then the linked chains).
EXAMPLES_PER_OPERATION = 15
CHAINS, STEPS_PER_CHAIN, MAX_RESTARTS = 30, 6, 3
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]
QUIET = {"deadline": None, "suppress_health_check": list(HealthCheck), "database": None}


@dataclass
class Tally:
    """Every answer, by status class, and every one that breaks a rule."""

    statuses: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    bad_bodies: list[str] = field(default_factory=list)
    undocumented: list[str] = field(default_factory=list)

    def record(self, case: schemathesis.Case, response: schemathesis.Response) -> None:
        self.statuses[f"{response.status_code // 100}xx"] += 1
        where = f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:200]!r}"
        if response.status_code >= 500:
            self.server_errors.append(where)
        if response.status_code >= 400 and not _is_error_body(response):
            self.bad_bodies.append(where)
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except FailureGroup as group:
            self.undocumented.extend(f"{where}: {failure.title}" for failure in group.exceptions)


def _is_error_body(response: schemathesis.Response) -> bool:
    try:
        error = response.json()["error"]
        return isinstance(error["code"], str) and isinstance(error["message"], str)
    except (ValueError, KeyError, TypeError):
        return False


def _fuzz_each_operation(schema: Any, tally: Tally) -> list[str]:
    """Every operation with valid and invalid requests; the operations with nothing to make invalid."""
    unbreakable = []
    for operation in (result.ok() for result in schema.get_all_operations()):
        for mode in GenerationMode:
            @settings(max_examples=EXAMPLES_PER_OPERATION, phases=[Phase.explicit, Phase.generate], **QUIET)
            @given(operation.as_strategy(generation_mode=mode))
            def check(case: schemathesis.Case) -> None:
                tally.record(case, case.call(timeout=60))

            try:
                check()
            except Unsatisfiable:
                if mode is not GenerationMode.NEGATIVE:
                    raise
                unbreakable.append(operation.label)  # no parameter or body that a request could get wrong
    return unbreakable


def _follow_links(schema: Any, tally: Tally) -> int:
    """Chains of linked calls; returns how often the generator had to start over (see below)."""
    class Chains(schema.as_state_machine()):  # type: ignore[misc]
        def validate_response(self, response: schemathesis.Response, case: schemathesis.Case, *_: Any,
                              **__: Any) -> None:
            tally.record(case, response)

    for restarts in range(MAX_RESTARTS + 1):
        try:
            Chains.run(settings=settings(max_examples=CHAINS, stateful_step_count=STEPS_PER_CHAIN,
                                         phases=[Phase.generate], **QUIET))
            return restarts
        except FlakyStrategyDefinition:
            # What a chain can do next depends on what the server answered, and the server's state moves on
            # (sessions appear, runs finish), so Hypothesis can find a replayed choice no longer possible.
            # Its checks never raise here: only generation gave up, and the requests made so far count.
            continue
    return MAX_RESTARTS


def test_no_request_gets_a_server_error_or_an_undocumented_answer(host: Devhost) -> None:
    schema = schemathesis.openapi.from_url(f"{host.url}/api/openapi.json")
    tally, began = Tally(), time.monotonic()
    unbreakable = _fuzz_each_operation(schema, tally)
    singles = sum(tally.statuses.values())
    restarts = _follow_links(schema, tally)
    total = sum(tally.statuses.values())
    print(f"\nfuzz: {len(list(schema.get_all_operations()))} operations, {total} requests ({singles} one by one, "
          f"{total - singles} in linked chains, {restarts} restarts) in {time.monotonic() - began:.0f} s; by status "
          f"{dict(sorted(tally.statuses.items()))}; 5xx {len(tally.server_errors)}, non-JSON error bodies "
          f"{len(tally.bad_bodies)}, answers the document does not describe {len(tally.undocumented)}; "
          f"nothing to make invalid in {unbreakable}")
    assert not tally.server_errors, tally.server_errors[:10]
    assert not tally.bad_bodies, tally.bad_bodies[:10]
    assert not tally.undocumented, tally.undocumented[:10]
