"""``AgentFunctionApp``: a Durable Functions app with the agents, their runtime and their HTTP API registered."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from . import (
    _agent_functions,
    _agent_run,
    _console,
    _openapi,
    _run_stream,
    _session_expiry,
    _turns,
    _workflow_trace,
    _workflows,
)
from ._a2a import remote as _a2a_remote
from ._a2a import server as _a2a_server
from ._a2a.remote import RemoteAgent
from ._agent import Agent
from ._catalogue import WorkflowSpec, add_agents, add_workflow
from ._mcp import triggers as _mcp_triggers
from ._schemas import checker

_WORKFLOW = "__durable_agents_workflow__"


def workflow(name: str, *, input: Any = None, events: dict[str, Any] | None = None) -> Callable[[Any], Any]:
    """Declare an orchestrator function as a workflow of the app's HTTP API (``POST /api/workflows/{name}``).

    ``input`` (a pydantic model class, a JSON schema dict, or None for any JSON) checks the body of the start request:
    a body that does not fit is a 400 and starts nothing, and the orchestrator's ``context.get_input()`` is the checked
    value (a model's JSON form). ``events`` maps each external event the workflow waits for to the same kind of
    declaration; an event it does not declare is a 400. The function is an ordinary Durable orchestrator: its code is
    replayed and must be deterministic; call agents from it with ``durable_agents.run``. Pass it to
    ``AgentFunctionApp(workflows=[...])``.
    """
    def declare(fn: Any) -> Any:
        setattr(fn, _WORKFLOW, (name, input, dict(events or {})))
        return fn
    return declare


class AgentFunctionApp(df.DFApp):
    """A ``DFApp`` serving ``agents`` and ``workflows``: add functions of your own to it as to any ``DFApp``.

    It registers the agent runtime (the ``agent_run`` orchestration, each model and tool call an activity, the
    ``session`` entity, session expiry) and the HTTP API: ``/api/agents/{name}/run``, ``/api/runs/{id}`` (status,
    stream, approval, cancel), sessions, ``/api/health`` and ``/api/workflows/{name}``. What is durable: every model
    call and tool call is a step whose result is committed before the next starts; a session's conversation lives in
    its entity. Definitions are code: keep agent and tool names stable while runs are in flight.
    """

    def __init__(self, agents: Iterable[Agent | RemoteAgent], workflows: Iterable[Callable[..., Any]] = (), *,
                 http_auth_level: func.AuthLevel = func.AuthLevel.FUNCTION) -> None:
        super().__init__(http_auth_level=http_auth_level)
        add_agents(agents)
        for module in (_agent_functions, _agent_run, _run_stream, _session_expiry, _turns, _workflows, _a2a_server,
                       _a2a_remote, _openapi, _console, _mcp_triggers, _workflow_trace):
            self.register_functions(module.bp)
        for fn in workflows:
            self._add_workflow(fn)

    def _add_workflow(self, fn: Callable[..., Any]) -> None:
        declared = getattr(fn, _WORKFLOW, None)
        if declared is None:
            raise TypeError(f"{getattr(fn, '__name__', fn)!r} is not declared with @durable_agents.workflow(...)")
        name, input_declared, events = declared
        orchestrator = f"workflow_{name}"
        add_workflow(WorkflowSpec(name, orchestrator, checker(input_declared, f"the input of workflow {name}"),
                                  {event: checker(d, f"event {event}") for event, d in events.items()}))
        context_name = next(iter(inspect.signature(fn).parameters))
        self.orchestration_trigger(context_name=context_name, orchestration=orchestrator)(
            _workflow_trace.traced(fn, name))
