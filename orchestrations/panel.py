"""Parallel: several agents answer one question at once; a synthesizer combines their answers."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from agents.catalogue import get_agent
from agents.errors import AgentError
from orchestrations.agent_calls import call_agent, set_progress

ORCHESTRATOR = "workflow_panel"
DEFAULT_PANEL = ["optimist", "skeptic", "pragmatist"]
bp = df.Blueprint()


def parse_input(body: dict[str, Any]) -> dict[str, Any]:
    question = body.get("question")
    if not isinstance(question, str) or not question.strip():
        raise AgentError("MissingQuestion", 'panel needs {"question": "...", "panelists"?: [agent names]}')
    panel = body.get("panelists", DEFAULT_PANEL)
    if not isinstance(panel, list) or not 2 <= len(panel) <= 8 or len(set(map(str, panel))) != len(panel):
        raise AgentError("InvalidPanel", "panelists must be 2-8 different agent names")
    for name in panel:
        get_agent(str(name))
    return {"question": question, "panelists": panel}


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def workflow_panel(context: df.DurableOrchestrationContext):
    """Ask every panelist in parallel, then synthesize."""
    spec = context.get_input()["input"]
    calls = [call_agent(context, name, spec["question"], f"panel-{name}") for name in spec["panelists"]]
    runs = [run_id for run_id, _ in calls]
    set_progress(context, "panel", runs)
    results = yield context.task_all([task for _, task in calls])
    answers = {name: result["response"] for name, result in zip(spec["panelists"], results, strict=True)}
    brief = f"Question: {spec['question']}\n\n" + "\n\n".join(f"{k}: {v}" for k, v in answers.items())
    run_id, task = call_agent(context, "synthesizer", brief, "synthesis")
    runs.append(run_id)
    set_progress(context, "synthesis", runs)
    synthesis = (yield task)["response"]
    set_progress(context, "done", runs)
    return {"answers": answers, "synthesis": synthesis, "runs": runs}
