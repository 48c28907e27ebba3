"""Runs exported with the real Azure Monitor exporter, over real HTTP, to a stand-in for Application Insights'
ingestion endpoint: the envelopes are in the shape Application Insights reads (one operation per run, each step a
dependency whose parent is the run, GenAI attributes as properties, the cloud role from the service name, token
usage as metrics), and the exporter contacts nothing else: no statsbeat, no control plane, no live metrics, no
Entra token endpoint, no instance metadata service."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.monitor.opentelemetry.exporter._constants import (
    _CUSTOMER_SDKSTATS_METRIC_NAME_MAPPINGS,
    _STATSBEAT_METRIC_NAME_MAPPINGS,
)

from durable_agents._telemetry import ROOT, span_id, trace_id
from tests.fixtures.agent_app import model, model_server, start_app
from tests.fixtures.appinsights_receiver import TRACK, AppInsightsReceiver
from tests.fixtures.model_server import ModelServer
from tests.fixtures.processes import REPO, Devhost

__all__ = ["model", "model_server", "start_app"]

IKEY = "00000000-0000-0000-0000-000000000000"
# Statsbeat's key when it is pointed at the receiver (see quiet_settings).
STATSBEAT_IKEY = "11111111-1111-1111-1111-111111111111"
SERVICE = "agents-in-app-insights"
DEPENDENCY, REQUEST, METRIC = "RemoteDependencyData", "RequestData", "MetricData"
TOKENS = "gen_ai.client.token.usage"
CONTROL_PLANE_DELAY = 16.0  # the control plane worker's startup delay is 5 to 15 s
# The names statsbeat and SDK stats metrics have, before and after the exporter renames them (taken from the
# installed exporter, so that the check follows its version).
STATS_METRICS = {name for mapping in (_STATSBEAT_METRIC_NAME_MAPPINGS, _CUSTOMER_SDKSTATS_METRIC_NAME_MAPPINGS)
                 for pair in mapping.items() for name in pair}
# Application Insights' timespan: d.hh:mm:ss.fff (``_utils.ns_to_duration``).
DURATION = re.compile(r"^\d+\.\d\d:\d\d:\d\d\.\d{3}$")


def quiet_settings(receiver: AppInsightsReceiver, tmp: Path) -> dict[str, str]:
    """The settings under which the exporter talks to the receiver alone (each read in the exporter's source)."""
    return {
        "APPLICATIONINSIGHTS_CONNECTION_STRING": receiver.connection_string(IKEY),
        # No Entra: _telemetry passes credential=None unless this says Authorization=AAD; empty overrides any
        # value this machine has.
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "",
        # statsbeat/_state.py: the exporter's own network/attach/feature metrics, sent to Microsoft's
        # westus-0/westeurope-5 ingestion. This exporter version starts statsbeat only for an endpoint with a region
        # (https://<region>.in.applicationinsights.azure.com: statsbeat/_manager.py, StatsbeatConfig.from_exporter),
        # so a local endpoint keeps it off anyway; switched off all the same, and were it ever started, pointed at the
        # receiver under its own key and exporting every second, so that it would show in the test.
        "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
        "APPLICATIONINSIGHTS_STATS_CONNECTION_STRING": receiver.connection_string(STATSBEAT_IKEY),
        "APPLICATIONINSIGHTS_STATS_SHORT_EXPORT_INTERVAL": "1",
        # statsbeat/customer/_utils.py: "SDK stats" (items sent/dropped/retried) sent to the customer's resource.
        "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
        "APPLICATIONINSIGHTS_SDKSTATS_EXPORT_INTERVAL": "1",
        # _configuration/_state.py: the OneSettings control plane (https://settings.sdk.monitor.azure.com), fetched
        # 5 to 15 s after the first exporter is made (_configuration/_worker.py).
        "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
        # Offline storage (export/_base.py) lives under tempfile.gettempdir(): a private one, so that batches a
        # failed earlier run left behind cannot be sent here, and this run leaves none in /tmp.
        "TMPDIR": str(tmp),
        # Azure Monitor only.
        "OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "",
        "OTEL_SERVICE_NAME": SERVICE, "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_METRIC_EXPORT_INTERVAL": "500",
        **receiver.proxy_env(),
    }


@pytest.fixture(scope="module")
def receiver() -> Iterator[AppInsightsReceiver]:
    server = AppInsightsReceiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def exporter_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exporter-tmp")


@pytest.fixture(scope="module")
def host(start_app: Callable[..., Devhost], receiver: AppInsightsReceiver, exporter_tmp: Path) -> Devhost:
    return start_app(**quiet_settings(receiver, exporter_tmp))


def sid(run_id: str, step: str) -> str:
    return f"{span_id(run_id, step):016x}"


def operation(receiver: AppInsightsReceiver, root: str, count: int, timeout: float = 15) -> dict[str, dict[str, Any]]:
    """The dependency and request items of the operation (trace) of ``root`` by id, once ``count`` have arrived."""
    wanted = f"{trace_id(root):032x}"
    deadline = time.monotonic() + timeout
    while True:
        items = [e for e in receiver.of_type(DEPENDENCY) + receiver.of_type(REQUEST)
                 if e["tags"].get("ai.operation.id") == wanted]
        by_id = {e["data"]["baseData"]["id"]: e for e in items}
        if len(by_id) >= count or time.monotonic() > deadline:
            assert len(items) == len(by_id), "an item was sent twice"
            return by_id
        time.sleep(0.05)


def metric_points(receiver: AppInsightsReceiver, name: str) -> list[dict[str, Any]]:
    return [e for e in receiver.of_type(METRIC) if e["data"]["baseData"]["metrics"][0]["name"] == name]


def test_a_run_is_one_operation_of_dependencies(host: Devhost, receiver: AppInsightsReceiver,
                                                model: ModelServer) -> None:
    model.call_tools(("calculate", {"expression": "6 * 7"}))
    model.say("It is 42.")
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        run_id = api.post("/agents/assistant/run", json={"message": "what is 6 * 7, secretly?"}).json()["run_id"]
    items = operation(receiver, run_id, 4)
    assert set(items) == {sid(run_id, step) for step in (ROOT, "model-0", "tool-1", "model-2")}
    for item in items.values():
        data = item["data"]["baseData"]
        assert item["name"] == "Microsoft.ApplicationInsights.RemoteDependency"
        assert item["data"]["baseType"] == DEPENDENCY and data["ver"] == 2
        assert item["iKey"] == IKEY and item["tags"]["ai.cloud.role"] == SERVICE
        assert item["tags"]["ai.operation.name"] == data["name"]
        assert DURATION.match(data["duration"]) and data["success"] is True
    root = items[sid(run_id, ROOT)]
    assert root["data"]["baseData"]["name"] == "invoke_agent assistant"
    assert "ai.operation.parentId" not in root["tags"], "the run's span is the operation's root"
    assert root["data"]["baseData"]["properties"] == {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "assistant", "agents.run.status": "completed",
        "gen_ai.usage.input_tokens": "20", "gen_ai.usage.output_tokens": "10",
        "gen_ai.conversation.id": root["data"]["baseData"]["properties"]["gen_ai.conversation.id"]}
    for step in ("model-0", "tool-1", "model-2"):
        assert items[sid(run_id, step)]["tags"]["ai.operation.parentId"] == sid(run_id, ROOT)
    chat = items[sid(run_id, "model-0")]["data"]["baseData"]
    assert chat["name"] == "chat scripted-model"
    assert {k: chat["properties"][k] for k in ("gen_ai.operation.name", "gen_ai.request.model",
                                               "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")} == {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "scripted-model",
        "gen_ai.usage.input_tokens": "10", "gen_ai.usage.output_tokens": "5"}
    # The provider's older attribute name is what makes Application Insights file the call as a GenAI dependency.
    assert chat["type"] == "GenAI | openai" and chat["properties"]["gen_ai.provider.name"] == "openai"
    # The exporter writes a sequence attribute as str() of the tuple the SDK keeps: "('tool_calls',)".
    assert "tool_calls" in chat["properties"]["gen_ai.response.finish_reasons"]
    tool = items[sid(run_id, "tool-1")]["data"]["baseData"]
    assert tool["name"] == "execute_tool calculate" and tool["type"] == "InProc"
    assert tool["properties"]["gen_ai.operation.name"] == "execute_tool"
    assert tool["properties"]["gen_ai.tool.name"] == "calculate"
    # Contents stay out unless asked for.
    sent = json.dumps(list(items.values()))
    assert "secretly" not in sent and "gen_ai.tool.call.result" not in sent
    # The request that started the run is a Request of its own operation, linked to the run's root.
    request = operation(receiver, f"request:{run_id}", 1)[sid(run_id, "request")]
    assert request["name"] == "Microsoft.ApplicationInsights.Request" and request["data"]["baseType"] == REQUEST
    assert request["data"]["baseData"]["name"] == "submit assistant" and request["data"]["baseData"]["success"]
    assert json.loads(request["data"]["baseData"]["properties"]["_MS.links"]) == [
        {"operation_Id": f"{trace_id(run_id):032x}", "id": sid(run_id, ROOT)}]


def test_token_usage_arrives_as_metrics(host: Devhost, receiver: AppInsightsReceiver, model: ModelServer) -> None:
    def calls(kind: str) -> int:
        return sum(e["data"]["baseData"]["metrics"][0]["count"] for e in metric_points(receiver, TOKENS)
                   if e["data"]["baseData"]["properties"]["gen_ai.token.type"] == kind)

    before = calls("input")
    model.say("Hello.")
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        api.post("/agents/assistant/run", json={"message": "hello"})
    deadline = time.monotonic() + 15
    while calls("input") < before + 1 or calls("output") < before + 1:
        assert time.monotonic() < deadline, metric_points(receiver, TOKENS)
        time.sleep(0.1)
    for item in metric_points(receiver, TOKENS):
        assert item["name"] == "Microsoft.ApplicationInsights.Metric" and item["iKey"] == IKEY
        assert item["tags"]["ai.cloud.role"] == SERVICE
        point, properties = item["data"]["baseData"]["metrics"][0], item["data"]["baseData"]["properties"]
        assert properties["gen_ai.operation.name"] == "chat" and properties["gen_ai.request.model"] == "scripted-model"
        # A histogram is one aggregate per interval: the sum as value, with count, min and max. The scripted model
        # always reports 10 input and 5 output tokens.
        each = {"input": 10, "output": 5}[properties["gen_ai.token.type"]]
        assert (point["value"], point["min"], point["max"]) == (each * point["count"], each, each)
    names = {e["data"]["baseData"]["metrics"][0]["name"] for e in receiver.of_type(METRIC)}
    assert {"gen_ai.client.operation.duration", "agents.runs"} <= names


def test_nothing_is_sent_anywhere_else(host: Devhost, receiver: AppInsightsReceiver, model: ModelServer,
                                       exporter_tmp: Path) -> None:
    model.say("Quiet.")
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        run_id = api.post("/agents/assistant/run", json={"message": "hush"}).json()["run_id"]
    operation(receiver, run_id, 2)
    # Long enough for each to have happened if it were on: statsbeat and SDK stats export every second here
    # (three chances), the control plane's first fetch comes at most 15 s after the host made its exporters, which
    # was before the first envelope arrived.
    assert receiver.first_at is not None
    time.sleep(max(3.0, receiver.first_at + CONTROL_PLANE_DELAY - time.monotonic()))
    with receiver.lock:
        elsewhere, per_path, envelopes = list(receiver.elsewhere), dict(receiver.per_path), list(receiver.envelopes)
    assert elsewhere == [], "the exporter tried another host (through the proxy) or another path"
    assert list(per_path) == [TRACK] and sum(per_path.values()) == len(envelopes)
    assert {e["iKey"] for e in envelopes} == {IKEY}, "statsbeat was sent"
    names = {e["data"]["baseData"]["metrics"][0]["name"] for e in envelopes if e["data"]["baseType"] == METRIC}
    assert not names & STATS_METRICS, names
    # Every batch was accepted the first time: nothing was kept for a retry, nothing failed.
    assert not [p for p in exporter_tmp.rglob("*") if p.is_file()], "a batch was stored to be sent again"
    # The exporter's own log lines reach the host's log (its INFO line for each accepted batch), and none of its
    # warnings or errors about a failed or partial export is there.
    log = host.log()
    assert "Transmission succeeded" in log
    assert not [line for line in ("Retrying due to", "could not be exported", "Retryable server side error",
                                  "Non-retryable server side error", "Data drop", "Rate limiter") if line in log]


def test_each_trace_export_carries_the_resource(host: Devhost, receiver: AppInsightsReceiver,
                                                model: ModelServer) -> None:
    model.say("Resource.")
    with httpx.Client(base_url=f"{host.url}/api", timeout=60) as api:
        run_id = api.post("/agents/assistant/run", json={"message": "resource"}).json()["run_id"]
    operation(receiver, run_id, 2)
    assert "Failed to derive Resource from Tracer Provider" not in host.log()
    resources = metric_points(receiver, "_OTELRESOURCE_")
    assert resources and all(e["data"]["baseData"]["properties"]["service.name"] == SERVICE for e in resources)


PROBE = """
import sys
from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter
from azure.monitor.opentelemetry.exporter._configuration._utils import make_onesettings_request
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

# What the control plane would fetch, and an export to statsbeat's kind of endpoint, under the app's settings; the
# hosts end in .invalid, so that nothing can leave this machine even were the proxy settings ignored.
assert make_onesettings_request("https://settings.sdk.monitor.azure.com.invalid/AzMonSDKDynamicConfiguration") \
    .has_exception
exporter = AzureMonitorTraceExporter(
    connection_string="InstrumentationKey=" + sys.argv[1] + ";IngestionEndpoint=https://westus-0.in.invalid/",
    credential=None, disable_offline_storage=True, retry_total=0)
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
provider.get_tracer("probe").start_span("probe").end()
"""


def test_a_request_to_another_host_would_be_seen(tmp_path: Path) -> None:
    """The check above can fail: under the same settings, the exporter's own HTTP calls to other hosts land in
    ``elsewhere`` of a receiver (a fresh one, so the app's stays clean)."""
    probe = AppInsightsReceiver().start()
    try:
        subprocess.run([sys.executable, "-c", PROBE, STATSBEAT_IKEY], cwd=REPO, timeout=30, check=True,
                       env={**os.environ, **quiet_settings(probe, tmp_path)})
        with probe.lock:
            assert probe.elsewhere == ["CONNECT settings.sdk.monitor.azure.com.invalid:443",
                                       "CONNECT westus-0.in.invalid:443"]
            assert probe.envelopes == []
    finally:
        probe.stop()
