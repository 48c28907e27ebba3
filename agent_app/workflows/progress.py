"""How the workflows report progress: the workflow API shows ``stage`` and the ``runs`` made so far."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df


def set_progress(context: df.DurableOrchestrationContext, stage: str, runs: list[str], **extra: Any) -> None:
    context.set_custom_status({"stage": stage, "runs": runs, **extra})
