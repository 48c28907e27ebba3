"""Chaining: researcher → writer → editor, each stage's output feeding the next."""

from __future__ import annotations

import azure.durable_functions as df
from pydantic import BaseModel, Field

import durable_agents
from durable_agents import workflow

from .progress import set_progress


class ChainInput(BaseModel):
    topic: str = Field(min_length=1, pattern=r"\S")


@workflow("chain", input=ChainInput)
def workflow_chain(context: df.DurableOrchestrationContext):
    """Research a topic, write it up, edit the draft."""
    topic = context.get_input()["topic"]
    runs: list[str] = []
    outputs: dict[str, str] = {}
    message = f"Topic: {topic}"
    for stage, agent, lead in (("research", "researcher", "Notes to write from:\n"),
                               ("draft", "writer", "Draft to edit:\n"), ("final", "editor", "")):
        task = durable_agents.run(context, agent, message, tag=stage)
        runs.append(task.run_id)
        set_progress(context, stage, runs)
        outputs[stage] = (yield task)["response"]
        message = f"{lead}{outputs[stage]}"
    set_progress(context, "done", runs)
    return {**outputs, "runs": runs}
