"""OpenTelemetry traces and metrics of runs, whose ids come from the run and step ids.

A run is one trace (a run inside a workflow shares the workflow's trace): the root span ``invoke_agent <agent>``
has the id derived from the run id, and each step's span (``chat <model>``, ``execute_tool <tool>``, the approval
wait, compaction) the id derived from the run and step ids. Spans are emitted only by activities, never by
orchestrator code, so a replay emits nothing; a step that runs again after a crash emits the same span again (the
same ids), saying which attempt it was. Each step's spans are exported before the step returns, so a committed
step's span is never lost to a crash. Contents (messages, arguments, results) stay out of spans unless
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.

Exporters from settings: OTLP over HTTP/protobuf when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces/metrics
endpoint) is set, Azure Monitor when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is, both, or none; with none, or
``OTEL_SDK_DISABLED=true``, nothing is set up and each call here returns at once.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
from datetime import datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import IdGenerator

SERVICE = "durable-agents"
# The ids the next span gets (its trace's id is used only by a root span; children inherit their parent's).
_next_ids: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar("next_ids", default=None)
_state: dict[str, Any] = {}


def _id(bits: int, *parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[: bits // 8], "big") or 1


def trace_id(root: str) -> int:
    """The trace of a run (or of the workflow it belongs to): from the outermost instance id."""
    return _id(128, "trace", root)


def span_id(run_id: str, step: str) -> int:
    return _id(64, "span", run_id, step)


ROOT = "root"


class _DerivedIds(IdGenerator):
    """Span ids chosen by the caller (the run and step), random ones otherwise."""

    def __init__(self) -> None:
        from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

        self.random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        chosen = _next_ids.get()
        return chosen[1] if chosen is not None else self.random.generate_span_id()

    def generate_trace_id(self) -> int:
        chosen = _next_ids.get()
        return chosen[0] if chosen is not None else self.random.generate_trace_id()


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "true"


def capture_content() -> bool:
    return _flag("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")


def _setup() -> tuple[Any, Any] | None:
    """The tracer and meter, set up once per process from the settings; None when telemetry is off."""
    if "tracer" in _state:
        return _state["tracer"]
    _state["tracer"] = None
    otlp = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    azure = bool(os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING"))
    if _flag("OTEL_SDK_DISABLED") or not (otlp or azure):
        return None
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or SERVICE})
    tracing = TracerProvider(resource=resource, id_generator=_DerivedIds())
    readers = []
    if otlp:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracing.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    if azure:
        from azure.monitor.opentelemetry.exporter import AzureMonitorMetricExporter, AzureMonitorTraceExporter

        credential = None
        if "Authorization=AAD" in os.environ.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", ""):
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        # Given the provider, the exporter takes the service's resource from it (not from the global provider,
        # which the library leaves alone) and sends it with every export.
        tracing.add_span_processor(BatchSpanProcessor(AzureMonitorTraceExporter(credential=credential,
                                                                                tracer_provider=tracing)))
        readers.append(PeriodicExportingMetricReader(AzureMonitorMetricExporter(credential=credential)))
    meters = MeterProvider(resource=resource, metric_readers=readers)
    meter = meters.get_meter(SERVICE)
    _state.update(provider=tracing, meters=meters, instruments={
        "tokens": meter.create_histogram("gen_ai.client.token.usage", unit="{token}"),
        "duration": meter.create_histogram("gen_ai.client.operation.duration", unit="s"),
        "runs": meter.create_counter("agents.runs", unit="{run}"),
        "tool": meter.create_histogram("agents.tool.duration", unit="s"),
    })
    _state["tracer"] = (tracing.get_tracer(SERVICE), _state["instruments"])
    return _state["tracer"]


def enabled() -> bool:
    return _setup() is not None


def _ns(moment: datetime | str) -> int:
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return int(when.timestamp() * 1e9)


def emit(name: str, *, trace_root: str, run_id: str, step: str, parent: str | None, start: datetime | str,
         end: datetime | str, attributes: dict[str, Any], error: str | None = None,
         kind: trace.SpanKind = trace.SpanKind.INTERNAL, link_to: tuple[str, str] | None = None,
         parent_run: str | None = None) -> None:
    """One finished span with ids from (run, step) in the trace of ``trace_root``, child of (``parent_run`` or the
    run itself, ``parent``)."""
    tracer = _setup()
    if tracer is None:
        return
    sampled = trace.TraceFlags(trace.TraceFlags.SAMPLED)
    context = None
    if parent:
        context = trace.set_span_in_context(trace.NonRecordingSpan(trace.SpanContext(
            trace_id(trace_root), span_id(parent_run or run_id, parent), is_remote=True, trace_flags=sampled)))
    links = [trace.Link(trace.SpanContext(trace_id(link_to[0]), span_id(link_to[1], ROOT), is_remote=True,
                                          trace_flags=sampled))] if link_to else []
    token = _next_ids.set((trace_id(trace_root), span_id(run_id, step)))
    try:
        span = tracer[0].start_span(name, context=context, kind=kind, start_time=_ns(start), links=links,
                                    attributes={k: v for k, v in attributes.items() if v is not None})
    finally:
        _next_ids.reset(token)
    if error:
        span.set_status(trace.Status(trace.StatusCode.ERROR, error))
        span.set_attribute("error.type", error.split(":")[0][:100])
    span.end(end_time=_ns(end))


def record(instrument: str, value: float, attributes: dict[str, Any]) -> None:
    """Add to a counter (``runs``) or a histogram (``tokens``, ``duration``, ``tool``)."""
    tracer = _setup()
    if tracer is None:
        return
    metric, clean = tracer[1][instrument], {k: v for k, v in attributes.items() if v is not None}
    if instrument == "runs":
        metric.add(value, clean)
    else:
        metric.record(value, clean)


def flush() -> None:
    """Export what this process has emitted (before a step returns, so that a committed step's spans are out)."""
    if _setup() is not None:
        _state["provider"].force_flush()
