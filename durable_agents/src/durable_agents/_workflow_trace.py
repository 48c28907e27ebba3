"""A workflow's own span: the root of the trace its runs share (the trace is named after the workflow's id).

The span is emitted by one more step at the end of the workflow, so, as for a run, a replay emits nothing and a
step that runs again after a crash emits the same span.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

from . import _telemetry as telemetry

SPAN_STEP = "agent_workflow_span"
bp = df.Blueprint()


def traced(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``fn`` (a workflow's orchestrator) followed by the step that emits the workflow's span."""
    def workflow(context: df.DurableOrchestrationContext):
        started = context.current_utc_datetime.isoformat()
        try:
            result = fn(context)
            if inspect.isgenerator(result):
                result = yield from result
        except Exception as exc:
            yield context.call_activity(SPAN_STEP, _span(context, name, started, f"{type(exc).__name__}: {exc}"))
            raise
        if not context.will_continue_as_new:  # the next execution is the same workflow, and ends the span
            yield context.call_activity(SPAN_STEP, _span(context, name, started, None))
        return result

    workflow.__name__, workflow.__doc__ = fn.__name__, fn.__doc__
    return workflow


def _span(context: df.DurableOrchestrationContext, name: str, started: str, error: str | None) -> dict[str, Any]:
    workflow_id = context.instance_id
    return {"name": f"workflow {name}", "trace_root": workflow_id, "run_id": workflow_id, "step": telemetry.ROOT,
            "parent": None, "start": started, "end": context.current_utc_datetime.isoformat(),
            "attributes": {"agents.workflow.name": name, "agents.workflow.id": workflow_id,
                           "agents.workflow.status": "failed" if error else "completed"}, "error": error}


@bp.activity_trigger(input_name="span", activity=SPAN_STEP)
def workflow_span(span: dict[str, Any]) -> None:
    """Emit the workflow's span, and export it before the step returns."""
    if telemetry.enabled():
        telemetry.emit(**span)
        telemetry.flush()
