"""Parallel: several agents answer one question at once; a synthesizer combines their answers."""

from __future__ import annotations

from typing import Literal

import azure.durable_functions as df
from pydantic import BaseModel, Field, field_validator

import durable_agents
from durable_agents import workflow

from .progress import set_progress

Panelist = Literal["optimist", "skeptic", "pragmatist", "researcher", "writer", "editor", "billing", "technical",
                   "assistant"]


class PanelInput(BaseModel):
    question: str = Field(min_length=1, pattern=r"\S")
    panelists: list[Panelist] = Field(default=["optimist", "skeptic", "pragmatist"], min_length=2, max_length=8)

    @field_validator("panelists")
    @classmethod
    def different(cls, panelists: list[str]) -> list[str]:
        if len(set(panelists)) != len(panelists):
            raise ValueError("panelists must be different agents")
        return panelists


@workflow("panel", input=PanelInput)
def workflow_panel(context: df.DurableOrchestrationContext):
    """Ask every panelist in parallel, then synthesize."""
    spec = context.get_input()
    tasks = [durable_agents.run(context, name, spec["question"], tag=f"panel-{name}") for name in spec["panelists"]]
    runs = [task.run_id for task in tasks]
    set_progress(context, "panel", runs)
    results = yield context.task_all(tasks)
    answers = {name: result["response"] for name, result in zip(spec["panelists"], results, strict=True)}
    brief = f"Question: {spec['question']}\n\n" + "\n\n".join(f"{k}: {v}" for k, v in answers.items())
    task = durable_agents.run(context, "synthesizer", brief, tag="synthesis")
    runs.append(task.run_id)
    set_progress(context, "synthesis", runs)
    synthesis = (yield task)["response"]
    set_progress(context, "done", runs)
    return {"answers": answers, "synthesis": synthesis, "runs": runs}
