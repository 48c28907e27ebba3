"""The agents and workflows of the app in this process, as ``AgentFunctionApp`` registers them.

The runtime's functions look definitions up here by name when they run; a Functions process serves one app.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._a2a.remote import RemoteAgent
from ._agent import Agent
from ._errors import AgentError
from ._schemas import Check


@dataclass(frozen=True)
class WorkflowSpec:
    """A workflow: its name in the HTTP API, its orchestrator's name, and how its input and events are checked."""

    name: str
    orchestrator: str
    check_input: Check
    events: dict[str, Check]


_AGENTS: dict[str, Agent] = {}
_REMOTES: dict[str, RemoteAgent] = {}
_WORKFLOWS: dict[str, WorkflowSpec] = {}


def add_agents(agents: Iterable[Agent | RemoteAgent]) -> None:
    for agent in agents:
        if not isinstance(agent, Agent | RemoteAgent):
            raise TypeError(f"agents must be Agent or RemoteAgent definitions, got {agent!r}")
        table: dict[str, Any] = _AGENTS if isinstance(agent, Agent) else _REMOTES
        known = _AGENTS.get(agent.name) or _REMOTES.get(agent.name)
        if known is not None and known is not agent:
            raise ValueError(f"two agents are named {agent.name!r}")
        table[agent.name] = agent


def remote_agents() -> list[RemoteAgent]:
    return list(_REMOTES.values())


def get_remote(name: str) -> RemoteAgent:
    """The remote agent called ``name``; an AgentError (404) when there is none."""
    remote = _REMOTES.get(name)
    if remote is None:
        raise AgentError("AgentNotFound", f"no remote agent named {name!r}", 404)
    return remote


def add_workflow(spec: WorkflowSpec) -> None:
    known = _WORKFLOWS.get(spec.name)
    if known is not None and known.orchestrator != spec.orchestrator:
        raise ValueError(f"two workflows are named {spec.name!r}")
    _WORKFLOWS[spec.name] = spec


def all_agents() -> list[Agent]:
    return list(_AGENTS.values())


def get_agent(name: str) -> Agent:
    """The agent called ``name``; an AgentError (404) when there is none."""
    agent = _AGENTS.get(name)
    if agent is None:
        raise AgentError("AgentNotFound", f"no agent named {name!r}; see GET /api/agents", 404)
    return agent


def all_workflows() -> list[WorkflowSpec]:
    return list(_WORKFLOWS.values())


def get_workflow(name: str) -> WorkflowSpec | None:
    return _WORKFLOWS.get(name)


def workflow_of(orchestrator: str) -> WorkflowSpec | None:
    """The workflow an orchestration instance belongs to, by its orchestrator's name."""
    return next((w for w in _WORKFLOWS.values() if w.orchestrator.lower() == orchestrator.lower()), None)
