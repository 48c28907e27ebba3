"""The settings the code reads, what Bicep sets for the app (Function App or worker), and what
local.settings.json.example lists agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from durable_agents._settings import SETTINGS
from tests.infra.bicep import read, resolve

REPO = Path(__file__).resolve().parents[2]


def names_read_by_the_code() -> set[str]:
    """Found by scanning: the settings module's reads, and the %NAME% / connection names host.json uses."""
    found = set()
    for path in [*REPO.glob("durable_agents/src/**/*.py"), *REPO.glob("agent_app/**/*.py"), REPO / "function_app.py"]:
        text = path.read_text()
        found |= set(re.findall(r"\b_(?:get|number)\(\"([A-Z][A-Z0-9_]*)\"", text))
        found |= set(re.findall(r"os\.(?:environ(?:\.get)?|getenv)[\[(]\"([A-Z][A-Z0-9_]*)\"", text))
    host = (REPO / "host.json").read_text()
    found |= set(re.findall(r"%([A-Z][A-Z0-9_]*)%", host))
    found |= set(re.findall(r"\"connectionStringName\":\s*\"([A-Z][A-Z0-9_]*)\"", host))
    return found


# Each host and the module parameter that carries its environment: the Function App's app settings, the worker
# container's environment variables.
HOSTS = {"functions": ("functionApp", "appSettings"), "worker": ("worker", "settings")}


def settings_set_by_bicep(host: str) -> set[str]:
    main = read(REPO / "infra" / "main.bicep")
    module, param = HOSTS[host]
    settings = resolve(main, main.modules[module]["params"][param])
    assert isinstance(settings, dict), f"{module}.{param} is not an object Bicep spells out: {settings}"
    return set(settings)


def test_the_declared_list_is_what_the_code_reads() -> None:
    assert names_read_by_the_code() == {s.name for s in SETTINGS}


@pytest.mark.parametrize("host", HOSTS)
def test_bicep_sets_exactly_the_settings_the_code_reads_in_azure(host: str) -> None:
    in_azure = {s.name for s in SETTINGS if s.where in ("azure", "both")}
    assert settings_set_by_bicep(host) == in_azure
    local_only = {s.name for s in SETTINGS if s.where == "local"}
    assert not settings_set_by_bicep(host) & local_only


def test_local_settings_example_lists_every_setting() -> None:
    example = json.loads((REPO / "local.settings.json.example").read_text())["Values"]
    missing = {s.name for s in SETTINGS} - set(example)
    assert not missing, f"local.settings.json.example lacks {sorted(missing)}"


def test_host_json_uses_the_durable_task_scheduler() -> None:
    durable = json.loads((REPO / "host.json").read_text())["extensions"]["durableTask"]
    assert durable["hubName"] == "%TASKHUB_NAME%"
    assert durable["storageProvider"] == {"type": "azureManaged",
                                          "connectionStringName": "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"}
