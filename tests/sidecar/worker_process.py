"""A durabletask worker in a process of its own, for tests that kill a worker or need several of them.

``python -m tests.sidecar.worker_process ADDRESS HUB MARKS LABEL``: registers the orchestrator ``relay`` and the
activities ``slow`` (marks that it started, then runs for an hour: a test kills the process meanwhile) and
``which`` (answers LABEL), then works until it is killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from durabletask import task
from durabletask.worker import TaskHubGrpcWorker

ADDRESS, HUB, MARKS, LABEL = sys.argv[1:5]


def relay(ctx: task.OrchestrationContext, count: int) -> Any:
    if count == 0:
        return (yield ctx.call_activity("slow", input=ctx.instance_id))
    return (yield task.when_all([ctx.call_activity("which", input=i) for i in range(count)]))


def slow(ctx: task.ActivityContext, key: str) -> str:
    (Path(MARKS) / f"{key}.started").write_text(LABEL)
    time.sleep(3600)
    return "never"


def which(ctx: task.ActivityContext, index: int) -> str:
    time.sleep(0.2)  # long enough that the other workers get their share
    return LABEL


if __name__ == "__main__":
    worker = TaskHubGrpcWorker(host_address=ADDRESS, metadata=[("taskhub", HUB)])
    worker.add_orchestrator(relay)
    worker.add_activity(slow)
    worker.add_activity(which)
    worker.start()
    while True:
        time.sleep(3600)
