"""Property-based fuzzing of every operation in the served OpenAPI document, over HTTP against devhost.

No request may get a 5xx, and every 4xx carries the JSON error body. The figures print with ``pytest -s``.
"""

from __future__ import annotations

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.fixtures.processes import Devhost

EXAMPLES_PER_OPERATION = 25


def test_no_request_gets_a_server_error_or_a_bare_error(host: Devhost) -> None:
    schema = schemathesis.openapi.from_url(f"{host.url}/api/openapi.json")
    statuses: Counter[str] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]

    for operation in operations:
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck), database=None)
        @given(operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call(timeout=60)
            statuses[f"{response.status_code // 100}xx"] += 1
            where = f"{case.method} {case.formatted_path} -> {response.status_code} {response.text[:200]}"
            if response.status_code >= 500:
                failures.append(where)
            elif response.status_code >= 400:
                try:
                    error = response.json()["error"]
                    assert isinstance(error["code"], str) and isinstance(error["message"], str)
                except (ValueError, KeyError, TypeError, AssertionError):
                    failures.append(f"not a JSON error body: {where}")

        check()
    total = sum(statuses.values())
    print(f"\nfuzz: {len(operations)} operations, {total} requests, by status {dict(sorted(statuses.items()))}, "
          f"5xx {statuses['5xx']}, bad error bodies {len(failures) - statuses['5xx']}")
    assert not failures, failures[:10]
