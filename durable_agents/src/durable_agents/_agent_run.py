"""The agent loop: one orchestration instance per run (one user message to one agent).

model call → tool calls (in parallel; approval first where a tool needs it) → model call … until the
model answers without tool calls or the step limit is reached. A run first waits for its session's turn
(``_turns``), so turns on one session run one at a time. Every model call and every tool call is
its own durable step. Only this run's new messages pass through the orchestration's history; the
conversation itself stays in the session entity, which the run appends to when it finishes.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import azure.durable_functions as df
import azure.functions as func
import jsonschema
from opentelemetry.trace import SpanKind
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from . import _session as session
from . import _settings as settings
from . import _telemetry as telemetry
from ._agent import Agent
from ._catalogue import get_agent
from ._errors import AgentError
from ._http import error_response, json_response, query_flag, read_body
from ._idempotency import once, request_key
from ._session_expiry import ensure_expiry
from ._streams import open_store
from ._turns import enqueue, hand_on, leave, take_turn, wake

ORCHESTRATOR = "agent_run"
LONG_TOOL = "agent_long_tool"
MODEL_STEP = "agent_model_step"
TOOL_STEP = "agent_tool_step"
COMPACT_STEP = "agent_compact_step"
PUBLISH = "agent_publish"
REPAIR_PROMPT = ("Your answer does not match the required JSON schema ({error}). Answer again with only a JSON "
                 "value that matches the schema.")

bp = df.Blueprint()


def run_limits(agent: Agent) -> dict[str, Any]:
    """The limits a run of ``agent`` starts with: the definition's own, else the settings."""
    config = settings.load()
    return {
        "max_steps": agent.max_steps or config.agent_max_steps,
        "approval_timeout_seconds": agent.approval_timeout_seconds or config.approval_timeout_seconds,
        "session_token_budget": agent.session_token_budget or config.session_token_budget,
    }


def approval_event(call_id: str) -> str:
    """The external event a pending approval waits for (unique per tool call)."""
    return f"approval:{call_id}"


class _Run:
    """The run's bookkeeping, shown to clients through the orchestration's custom status."""

    def __init__(self, context: df.DurableOrchestrationContext, spec: dict[str, Any]) -> None:
        self.context = context
        self.spec = spec
        self.steps: list[dict[str, Any]] = []
        self.usage = dict.fromkeys(session.USAGE_KEYS, 0)
        self.pending: dict[str, Any] | None = None
        self.waiting_for: str | None = None
        self.trace_root = spec.get("trace_root") or context.instance_id
        self.started = self.now()

    def now(self) -> str:
        return self.context.current_utc_datetime.isoformat()

    def begin(self, kind: str, name: str) -> dict[str, Any]:
        step = {"id": f"{kind}-{len(self.steps)}", "kind": kind, "name": name, "status": "running",
                "started_at": self.now(), "ended_at": None}
        self.steps.append(step)
        return step

    def end(self, step: dict[str, Any], status: str = "completed") -> None:
        step["status"], step["ended_at"] = status, self.now()

    def emit(self, kind: str, data: dict[str, Any], span: dict[str, Any] | None = None):
        """Publish one event to the run's stream (a small durable step of its own), and a span that ended here."""
        yield self.context.call_activity(PUBLISH, {"run_id": self.context.instance_id,
                                                   "event": {"type": kind, "data": data}, "span": span})

    def span(self, step: str, name: str, start: str, attributes: dict[str, Any],
             error: str | None = None) -> dict[str, Any]:
        """A span for the publish step to emit: one the orchestrator timed (the run itself, an approval wait).

        A run's own span is a root, or, in a workflow, a child of the workflow's span (the trace is named after it).
        """
        run_id = self.context.instance_id
        parent, parent_run = telemetry.ROOT, run_id
        if step == telemetry.ROOT:
            parent, parent_run = (None, None) if self.trace_root == run_id else (telemetry.ROOT, self.trace_root)
        return {"name": name, "trace_root": self.trace_root, "run_id": run_id, "step": step, "parent": parent,
                "parent_run": parent_run, "start": start, "end": self.now(),
                "attributes": {"gen_ai.agent.name": self.spec["agent"], **attributes}, "error": error}

    def wait_for(self, run_id: str | None) -> None:
        self.waiting_for = run_id
        self.publish()

    def publish(self) -> None:
        status = "queued" if self.waiting_for else "awaiting_approval" if self.pending else "running"
        self.context.set_custom_status({
            "status": status, "agent": self.spec["agent"], "session_id": self.spec["session_id"],
            "steps": self.steps, "usage": self.usage, "pending_approval": self.pending,
            "waiting_for": self.waiting_for,
        })


def _model_call(run: _Run, messages: list[dict[str, Any]], use_tools: bool = True):
    step = run.begin("model", run.spec["agent"])
    run.publish()
    result = yield run.context.call_activity(MODEL_STEP, {
        "agent": run.spec["agent"], "session_id": run.spec["session_id"], "run_messages": messages,
        "response_format": run.spec.get("response_format"), "use_tools": use_tools,
        "run_id": run.context.instance_id, "step": step["id"], "started_at": step["started_at"],
        "trace_root": run.trace_root,
    })
    run.end(step)
    step["usage"] = result["usage"]
    run.usage = session.add_usage(run.usage, result["usage"])
    return result["message"]


def _approve(run: _Run, call: dict[str, Any]):
    """Wait for a person's decision on one tool call; returns a refusal text, or None to go ahead."""
    context = run.context
    name = call["function"]["name"]
    step = run.begin("approval", name)
    timeout = run.spec["approval_timeout_seconds"]
    expires = context.current_utc_datetime + timedelta(seconds=timeout)
    # "event" names what to raise to decide, so generic tools (the devhost dashboard) can offer approve/deny.
    run.pending = {"tool": name, "arguments": _arguments(call), "call_id": call["id"],
                   "event": approval_event(call["id"]), "requested_at": run.now(), "expires_at": expires.isoformat()}
    run.publish()
    yield from run.emit("approval_required", run.pending)
    decision_task = context.wait_for_external_event(approval_event(call["id"]))
    timer = context.create_timer(expires)
    winner = yield context.task_any([decision_task, timer])
    run.pending = None
    if winner != decision_task:
        outcome, refusal = "timed_out", f"No approval arrived within {timeout} seconds, so {name} was not run."
    else:
        timer.cancel()
        decision = decision_task.result
        if isinstance(decision, str):
            decision = json.loads(decision)
        comment = (decision or {}).get("comment")
        if (decision or {}).get("approved") is True:
            outcome, refusal = "approved", None
        else:
            outcome, refusal = "denied", f"A person denied running {name}" + (f": {comment}" if comment else ".")
    run.end(step, outcome)
    yield from run.emit("status", {"status": "running"},
                        run.span(step["id"], f"approval {name}", step["started_at"],
                                 {"gen_ai.tool.name": name, "agents.approval.outcome": outcome}))
    return refusal


def _arguments(call: dict[str, Any]) -> Any:
    try:
        return json.loads(call["function"].get("arguments") or "{}")
    except ValueError:
        return call["function"].get("arguments")


def _tool_calls(run: _Run, calls: list[dict[str, Any]]):
    """Run the model's tool calls: approvals one at a time, then every allowed call in parallel."""
    context, agent = run.context, get_agent(run.spec["agent"])
    results: dict[str, str] = {}
    for call in calls:
        tool = agent.tool(call["function"]["name"])
        if tool is not None and tool.requires_approval:
            refusal = yield from _approve(run, call)
            if refusal is not None:
                results[call["id"]] = refusal
    pending = [c for c in calls if c["id"] not in results]
    tasks, steps = [], []
    for call in pending:
        name = call["function"]["name"]
        tool = agent.tool(name)
        steps.append(run.begin("tool", name))
        payload = {"agent": agent.name, "name": name, "arguments": call["function"].get("arguments"),
                   "call_id": call["id"], "run_id": context.instance_id, "step": steps[-1]["id"],
                   "started_at": steps[-1]["started_at"], "trace_root": run.trace_root}
        if tool is not None and tool.long_running:
            payload.update(timeout_seconds=tool.timeout_seconds, max_attempts=tool.max_attempts)
            tasks.append(context.call_sub_orchestrator(LONG_TOOL, payload))
        else:
            tasks.append(context.call_activity(TOOL_STEP, payload))
    run.publish()
    outcomes = (yield context.task_all(tasks)) if tasks else []
    for call, step, outcome in zip(pending, steps, outcomes, strict=True):
        run.end(step, "failed" if outcome["is_error"] else "completed")
        results[call["id"]] = outcome["content"]
    return [{"role": "tool", "tool_call_id": c["id"], "content": results[c["id"]]} for c in calls]


def _usage_attributes(usage: dict[str, int]) -> dict[str, int]:
    return {"gen_ai.usage.input_tokens": usage["prompt_tokens"],
            "gen_ai.usage.output_tokens": usage["completion_tokens"]}


def _structured(text: str | None, schema: dict[str, Any]) -> tuple[Any, str | None]:
    try:
        value = json.loads(text or "")
    except ValueError as exc:
        return None, f"not JSON: {exc.msg}"
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        return None, exc.message
    return value, None


def _loop(context: df.DurableOrchestrationContext, run: _Run, spec: dict[str, Any]):
    sid = session.entity_id(spec["agent"], spec["session_id"])
    yield from take_turn(context, sid, run.wait_for)
    messages: list[dict[str, Any]] = [{"role": "user", "content": spec["message"]}]
    schema = spec.get("response_format")
    structured: Any = None
    repaired = False
    for _ in range(spec["max_steps"]):
        message = yield from _model_call(run, messages)
        messages.append(message)
        if message.get("tool_calls"):
            messages.extend((yield from _tool_calls(run, message["tool_calls"])))
            continue
        if schema is None:
            break
        structured, error = _structured(message.get("content"), schema)
        if error is None:
            break
        if repaired:
            raise ValueError(f"the answer does not match the response_format schema after one repair: {error}")
        repaired = True
        messages.append({"role": "user", "content": REPAIR_PROMPT.format(error=error)})
    else:
        raise RuntimeError(f"the run reached its limit of {spec['max_steps']} model calls without a final answer")
    appended = yield context.call_entity(sid, "append", {"messages": messages, "usage": run.usage,
                                                         "run_id": context.instance_id})
    yield from wake(context, appended["next"])
    if appended["estimated_tokens"] > spec["session_token_budget"]:
        step = run.begin("model", "compaction")
        compaction = yield context.call_activity(COMPACT_STEP, {"agent": spec["agent"],
                                                                 "session_id": spec["session_id"]})
        run.end(step)
        if compaction:
            step["usage"] = compaction["usage"]
            run.usage = session.add_usage(run.usage, compaction["usage"])
            yield context.call_entity(sid, "compact", {"summary": compaction["summary"], "drop": compaction["drop"]})
    result = {"response": messages[-1].get("content"), "structured": structured, "usage": run.usage,
              "steps": run.steps, "messages": len(messages)}
    yield from run.emit("done", {"response": result["response"], "structured": structured, "usage": run.usage},
                        run.span(telemetry.ROOT, f"invoke_agent {spec['agent']}", run.started, {
                            **_usage_attributes(run.usage), "agents.run.status": "completed",
                            "gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": spec["session_id"]}))
    return result


@bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR)
def agent_run(context: df.DurableOrchestrationContext):
    """The agent loop for one run; its output is the answer, usage and steps. Its stream ends with done or error."""
    spec = context.get_input()
    run = _Run(context, spec)
    try:
        return (yield from _loop(context, run, spec))
    except Exception as exc:
        yield from hand_on(context, session.entity_id(spec["agent"], spec["session_id"]), context.instance_id)
        yield from run.emit("error", {"message": str(exc)}, run.span(
            telemetry.ROOT, f"invoke_agent {spec['agent']}", run.started,
            {**_usage_attributes(run.usage), "agents.run.status": "failed", "gen_ai.operation.name": "invoke_agent",
             "gen_ai.conversation.id": spec["session_id"]}, error=f"{type(exc).__name__}: {exc}"))
        raise


@bp.orchestration_trigger(context_name="context", orchestration=LONG_TOOL)
def agent_long_tool(context: df.DurableOrchestrationContext):
    """A long-running tool: its own retries and a timeout; it always returns a result for the model."""
    payload = context.get_input()
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=1000,
                            max_number_of_attempts=payload["max_attempts"])
    work = context.call_activity_with_retry(TOOL_STEP, retry, payload)
    deadline = context.create_timer(context.current_utc_datetime + timedelta(seconds=payload["timeout_seconds"]))
    winner = yield context.task_any([work, deadline])
    if winner != work:
        return {"content": f"error: {payload['name']} did not finish within {payload['timeout_seconds']} s",
                "is_error": True}
    deadline.cancel()
    if isinstance(work.result, Exception):
        return {"content": f"error: {payload['name']} failed after {payload['max_attempts']} attempts: "
                           f"{work.result}", "is_error": True}
    return work.result


# The HTTP API of runs.

SESSION_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_TIMEOUT_SECONDS = 230
MAX_SCHEMA_CHARS = 32 * 1024
TERMINAL = {"completed", "failed", "canceled"}
CANCELED_MESSAGE = "the run was canceled"
_STATUS = {"Pending": "pending", "Completed": "completed", "Failed": "failed", "Terminated": "canceled",
           "Canceled": "canceled"}


@dataclass
class RunRequest:
    message: str
    session_id: str
    wait: bool
    timeout: float
    response_format: dict[str, Any] | None


def parse_run_request(req: func.HttpRequest) -> RunRequest:
    """The run request from the body (JSON or text/plain) and the query; bad input is a 400."""
    body = read_body(req)
    fields: dict[str, Any] = body if isinstance(body, dict) else {"message": body}
    unknown = set(fields) - {"message", "session_id", "wait", "timeout", "response_format"}
    if unknown:
        raise AgentError("UnknownField", f"unknown field(s): {', '.join(sorted(unknown))}")
    message = fields.get("message")
    if not isinstance(message, str) or not message.strip():
        raise AgentError("MissingMessage", "message must be a non-empty string")
    session_id = fields.get("session_id", req.params.get("session_id")) or _new_session_id(request_key(req))
    if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
        raise AgentError("InvalidSessionId", "session_id must be 1-64 letters, digits, '.', '_' or '-'")
    wait = fields.get("wait", query_flag(req, "wait"))
    wait = True if wait is None else wait
    if not isinstance(wait, bool):
        raise AgentError("InvalidWait", "wait must be true or false")
    timeout = fields.get("timeout", 60)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_TIMEOUT_SECONDS:
        raise AgentError("InvalidTimeout", f"timeout must be a number of seconds in (0, {MAX_TIMEOUT_SECONDS}]")
    schema = fields.get("response_format")
    if schema is not None:
        _check_response_format(schema)
    return RunRequest(message, session_id, wait, float(timeout), schema)


def _new_session_id(key: str | None) -> str:
    """A new conversation's id: named after the idempotency key, if any, so a retry names the same session."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"durable-agents:session:{key}").hex if key else uuid.uuid4().hex


def _refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        if isinstance(schema.get("$ref"), str):
            yield schema["$ref"]
        for value in schema.values():
            yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)


def _check_response_format(schema: Any) -> None:
    """A schema the run can use: valid draft 2020-12, small, and every ``$ref`` found inside it (none is fetched)."""
    if not isinstance(schema, dict):
        raise AgentError("InvalidResponseFormat", "response_format must be a JSON schema object")
    if len(json.dumps(schema)) > MAX_SCHEMA_CHARS:
        raise AgentError("InvalidResponseFormat", f"response_format is over {MAX_SCHEMA_CHARS} characters of JSON")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise AgentError("InvalidResponseFormat", f"response_format is not a valid JSON schema: {exc.message}") \
            from exc
    resolver = Registry().with_resource("", DRAFT202012.create_resource(schema)).resolver()
    for ref in _refs(schema):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            raise AgentError("InvalidResponseFormat", f"response_format refers to {ref!r}, which it does not "
                             "define (references to other documents are not fetched)") from None


def _origin(req: func.HttpRequest) -> str:
    parts = urlsplit(req.url)
    return f"{parts.scheme}://{parts.netloc}"


def run_view(status: df.DurableOrchestrationStatus, origin: str) -> dict[str, Any] | None:
    """What ``GET /api/runs/{id}`` shows; None when the id is not a run."""
    if not status or (status.name or "").lower() != ORCHESTRATOR:
        return None
    spec = status.input_
    if isinstance(spec, str):
        spec = json.loads(spec)
    custom = status.custom_status or {}
    runtime = status.runtime_status.value if status.runtime_status else "Pending"
    state = _STATUS.get(runtime) or custom.get("status", "running")
    output = status.output if isinstance(status.output, dict) else {}
    run_id = status.instance_id
    view: dict[str, Any] = {
        "run_id": run_id, "agent": spec["agent"], "session_id": spec["session_id"], "status": state,
        "steps": output.get("steps", custom.get("steps", [])),
        "usage": output.get("usage", custom.get("usage", dict.fromkeys(session.USAGE_KEYS, 0))),
    }
    if state == "completed":
        view["response"] = output.get("response")
        if spec.get("response_format") is not None:
            view["structured"] = output.get("structured")
    elif state == "failed":
        view["error"] = status.output if isinstance(status.output, str) else json.dumps(status.output)
    elif state == "queued":
        view["waiting_for"] = custom.get("waiting_for")
    elif state == "awaiting_approval" and custom.get("pending_approval"):
        pending = custom["pending_approval"]
        view["pending_approval"] = {k: pending[k] for k in ("tool", "arguments", "requested_at", "expires_at")}
    links = {"status": f"{origin}/api/runs/{run_id}", "stream": f"{origin}/api/runs/{run_id}/stream"}
    if state not in TERMINAL:
        links["cancel"] = f"{origin}/api/runs/{run_id}/cancel"
    if state == "awaiting_approval":
        links["approval"] = f"{origin}/api/runs/{run_id}/approval"
    view["links"] = links
    return view


async def read_run(client: df.DurableOrchestrationClient, run_id: str, origin: str) -> dict[str, Any]:
    view = run_view(await client.get_status(run_id), origin)
    if view is None:
        raise AgentError("RunNotFound", f"no run with id {run_id!r}", 404)
    return view


async def wait_run(client: df.DurableOrchestrationClient, run_id: str, origin: str, timeout: float) -> dict[str, Any]:
    """Poll until the run finishes or needs a person, or ``timeout`` passes (then it is still running)."""
    loop = asyncio.get_running_loop()
    deadline, delay = loop.time() + timeout, 0.002
    while True:
        view = await read_run(client, run_id, origin)
        if view["status"] in TERMINAL or view["status"] == "awaiting_approval" or loop.time() >= deadline:
            return view
        await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
        delay = min(delay * 1.3, 0.25)


def _answer(view: dict[str, Any]) -> func.HttpResponse:
    if view["status"] == "completed":
        return json_response(view)
    return json_response(view, 202, {"Location": view["links"]["status"]})


async def submit(client: df.DurableOrchestrationClient, agent: Agent, session_id: str, message: str,
                 response_format: dict[str, Any] | None = None, *, key: str | None = None,
                 scope: str | None = None) -> str:
    """Start a run of ``agent`` on a session, queued for its turn; returns the run id.

    With an idempotency ``key`` (unique within ``scope``, by default the agent's runs) a repeated submit of the
    same message returns the first one's run id, also after a crash between the two.
    """
    spec = {"agent": agent.name, "session_id": session_id, "message": message, "response_format": response_format}

    async def start(run_id: str) -> dict[str, Any]:
        if (await client.get_status(run_id)).runtime_status is None:  # else a retry after a crash found it
            await enqueue(client, agent.name, session_id, run_id)
            await client.start_new(ORCHESTRATOR, run_id, {**run_limits(agent), **spec})
            await ensure_expiry(client, agent.name, session_id, settings.load().session_ttl_days * 86400)
        return {"run_id": run_id}

    began = datetime.now(UTC)
    run_id = (await once(key, scope or f"run:{agent.name}", spec, start))["run_id"]
    # The request that started the run, in a trace of its own, linked to the run's root span.
    telemetry.emit(f"submit {agent.name}", trace_root=f"request:{run_id}", run_id=run_id, step="request", parent=None,
                   start=began, end=datetime.now(UTC), attributes={"gen_ai.agent.name": agent.name},
                   kind=SpanKind.SERVER, link_to=(run_id, run_id))
    return run_id


@bp.route(route="agents/{agent}/run", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def start_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start a run; answer 200 with the response when it finishes in time, else 202 with links."""
    try:
        agent = get_agent(req.route_params["agent"])
        request = parse_run_request(req)
        run_id = await submit(client, agent, request.session_id, request.message, request.response_format,
                              key=request_key(req))
        origin = _origin(req)
        if request.wait:
            view = await wait_run(client, run_id, origin, request.timeout)
        else:
            view = await read_run(client, run_id, origin)
        return _answer(view)
    except AgentError as exc:
        return error_response(exc)


@bp.route(route="runs/{run_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def get_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """A run's status, steps, usage and, when finished, its response or error."""
    try:
        return json_response(await read_run(client, req.route_params["run_id"], _origin(req)))
    except AgentError as exc:
        return error_response(exc)


async def decide(client: df.DurableOrchestrationClient, run_id: str, decision: dict[str, Any],
                 origin: str) -> dict[str, Any]:
    """Deliver ``{"approved", "comment"}`` to the tool call a run waits on; 404 unknown, 409 nothing waits."""
    status = await client.get_status(run_id)
    view = run_view(status, origin)
    if view is None:
        raise AgentError("RunNotFound", f"no run with id {run_id!r}", 404)
    pending = (status.custom_status or {}).get("pending_approval")
    if view["status"] != "awaiting_approval" or not pending:
        raise AgentError("NothingToApprove", f"run {run_id} is {view['status']}; nothing awaits approval", 409)
    await client.raise_event(run_id, approval_event(pending["call_id"]), decision)
    return {"run_id": run_id, "status": "running", "links": view["links"]}


@bp.route(route="runs/{run_id}/approval", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def approve_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Approve or deny the tool call a run waits on: ``{"approved": bool, "comment"?: str}``."""
    try:
        body = read_body(req)
        if not isinstance(body, dict) or not isinstance(body.get("approved"), bool):
            raise AgentError("InvalidApproval", 'the body must be {"approved": true|false, "comment"?: "..."}')
        comment = body.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise AgentError("InvalidApproval", "comment must be a string")
        run_id = req.route_params["run_id"]
        decision = {"approved": body["approved"], "comment": comment}
        answer = await once(request_key(req), f"approval:{run_id}", decision,
                            lambda _: decide(client, run_id, decision, _origin(req)))
        return json_response(answer, 202, {"Location": answer["links"]["status"]})
    except AgentError as exc:
        return error_response(exc)


async def cancel(client: df.DurableOrchestrationClient, run_id: str, origin: str) -> dict[str, Any]:
    """Cancel a run that has not finished (its view from before); 404 unknown, 409 finished."""
    view = await read_run(client, run_id, origin)
    if view["status"] in TERMINAL:
        raise AgentError("RunFinished", f"run {run_id} is already {view['status']}", 409)
    await client.terminate(run_id, "canceled by request")
    # The run may have finished since it was read (terminating a finished run is not an error to the client).
    after = (await read_run(client, run_id, origin))["status"]
    if after == "canceled":
        await leave(client, view["agent"], view["session_id"], run_id)
        # Readers of the stream learn it at once rather than at their next heartbeat. Where terminating takes
        # effect later (the scheduler applies it on its next turn), the stream endpoint ends the stream then.
        await open_store().end(run_id, CANCELED_MESSAGE)
    elif after in TERMINAL:
        raise AgentError("RunFinished", f"run {run_id} {after} before it could be canceled", 409)
    return view


@bp.route(route="runs/{run_id}/cancel", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
async def cancel_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Cancel a run that has not finished."""
    try:
        view = await cancel(client, req.route_params["run_id"], _origin(req))
        run_id = view["run_id"]
        return json_response({"run_id": run_id, "status": "canceled", "links": view["links"]}, 202)
    except AgentError as exc:
        return error_response(exc)
