"""What the agent loop's activities do: one model call, one tool call, one compaction.

Each runs as its own activity, so each is a durable step: once its result is recorded, a crash or
restart never runs it again. A step that finished but crashed before its result was recorded runs again;
model and tool steps therefore journal their result in the stream store first, and a step that runs again
returns the journaled result instead of asking the model (or running the tool) a second time. The model step
reads the conversation from the session entity itself, so orchestration history carries only the run's own
messages.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
from opentelemetry import trace

from . import _model as model
from . import _session as session
from . import _settings as settings
from . import _telemetry as telemetry
from ._catalogue import get_agent
from ._errors import AgentError
from ._mcp import run_tools as mcp_tools
from ._streams import StreamStore, open_store
from ._streams.publisher import Publisher

STREAM_ATTEMPTS = 3
INTERRUPTED = ("error: {name} was interrupted by a crash and may or may not have taken effect; it is marked as not "
               "safe to repeat, so it was not run again")

SUMMARY_PROMPT = (
    "Summarise the conversation below for your own later reference: keep names, facts, decisions and open "
    "questions; drop pleasantries. Reply with the summary only."
)


async def _journal(store: StreamStore, key: str, result: dict[str, Any]) -> dict[str, Any]:
    """Keep a step's result as long as its run's stream, so that a re-run of the step finds it."""
    return await store.remember(key, result, settings.load().stream_ttl_minutes * 60)


async def read_session(client: df.DurableOrchestrationClient, agent: str, session_id: str) -> dict[str, Any] | None:
    """The session's committed state, or None when it does not exist (yet)."""
    found = await client.read_entity_state(session.entity_id(agent, session_id))
    return found.entity_state if found.entity_exists else None


def prompt(agent_name: str, state: dict[str, Any] | None, run_messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """System instructions, the summary of compacted turns, the conversation, then this run."""
    agent = get_agent(agent_name)
    messages: list[dict[str, Any]] = [{"role": "system", "content": agent.instructions}]
    if state and state.get("summary"):
        messages.append({"role": "system", "content": f"Summary of the earlier conversation: {state['summary']}"})
    messages.extend((state or {}).get("messages") or [])
    messages.extend(run_messages)
    return messages


async def model_step(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any]:
    """One model call of a run, its text streamed to the run's stream: ``{"message", "usage", "finish_reason"}``.

    A stream that breaks off mid-answer is asked again (up to ``STREAM_ATTEMPTS`` times); each new attempt, and a
    re-run of the whole step after a crash, first publishes ``step_restart`` so readers drop the partial text. A
    re-run whose reply was journaled returns it without asking the model again. The tools of the agent's MCP servers
    are the run's journaled list of them (the first model step of a run makes it).
    """
    agent = get_agent(payload["agent"])
    run_id, step = payload["run_id"], payload["step"]
    store = open_store()
    journal = f"step:{run_id}:{step}"
    again = await store.step_started(run_id, step)
    if again and (reply := await store.recall(journal)) is not None:
        return reply
    state = await read_session(client, agent.name, payload["session_id"])
    tools = None
    if payload.get("use_tools", True):
        remote = await mcp_tools.of_run(agent, run_id, store)
        tools = [t.spec() for t in agent.tools] + [mcp_tools.spec(t) for t in remote]
    publisher = Publisher(store, run_id)
    if again:
        publisher.publish({"type": "step_restart", "step": step, "data": {"reason": "the step runs again"}})

    async def publish(text: str) -> None:
        publisher.publish({"type": "delta", "step": step, "data": {"text": text}})

    attempt = 1
    try:
        while True:
            try:
                reply = await model.chat(
                    model.provider(settings.load()),
                    prompt(agent.name, state, payload["run_messages"]),
                    tools=tools,
                    response_format=payload.get("response_format"),
                    options=agent.model.as_kwargs(),
                    on_delta=publish,
                )
                break
            except model.StreamInterrupted as exc:
                if attempt == STREAM_ATTEMPTS:
                    raise
                attempt += 1
                publisher.publish({"type": "step_restart", "step": step, "data": {"reason": exc.message}})
    finally:
        # The orchestrator publishes what follows this step only after it returns: the order holds.
        await publisher.flush()
    _model_span(payload, reply, attempt=2 if again else 1)
    return await _journal(store, journal, reply)


PROVIDER_NAMES = {"azure-openai": "azure.ai.openai", "openai-compatible": "openai", "offline": "openai"}


def _model_span(payload: dict[str, Any], reply: dict[str, Any], attempt: int) -> None:
    if not telemetry.enabled():
        return
    described = model.provider(settings.load()).describe()
    model_name = described["model"]
    usage, now = reply["usage"], datetime.now(UTC)
    # The provider under both its current name and the older one Application Insights reads for its GenAI type.
    provider = PROVIDER_NAMES[described["kind"]]
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model_name,
                  "gen_ai.provider.name": provider, "gen_ai.system": provider,
                  "gen_ai.agent.name": payload["agent"], "gen_ai.usage.input_tokens": usage["prompt_tokens"],
                  "gen_ai.usage.output_tokens": usage["completion_tokens"], "agents.step.attempt": attempt,
                  "gen_ai.response.finish_reasons": [reply.get("finish_reason") or "stop"]}
    if telemetry.capture_content():
        attributes["gen_ai.output.messages"] = json.dumps([reply["message"]])
    started = payload.get("started_at") or now.isoformat()
    telemetry.emit(f"chat {model_name}", trace_root=payload.get("trace_root") or payload["run_id"],
                   run_id=payload["run_id"], step=payload["step"], parent=telemetry.ROOT, start=started, end=now,
                   attributes=attributes, kind=trace.SpanKind.CLIENT)
    metric = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model_name}
    telemetry.record("tokens", usage["prompt_tokens"], {**metric, "gen_ai.token.type": "input"})
    telemetry.record("tokens", usage["completion_tokens"], {**metric, "gen_ai.token.type": "output"})
    telemetry.record("duration", (now - datetime.fromisoformat(started)).total_seconds(), metric)
    telemetry.flush()


def _tool_span(payload: dict[str, Any], result: dict[str, Any], attempt: int) -> None:
    if not telemetry.enabled():
        return
    now = datetime.now(UTC)
    started = payload.get("started_at") or now.isoformat()
    attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": payload["name"],
                  "gen_ai.tool.call.id": payload.get("call_id"), "gen_ai.agent.name": payload["agent"],
                  "agents.step.attempt": attempt}
    if telemetry.capture_content():
        attributes.update({"gen_ai.tool.call.arguments": payload.get("arguments"),
                           "gen_ai.tool.call.result": result["content"]})
    telemetry.emit(f"execute_tool {payload['name']}", trace_root=payload.get("trace_root") or payload["run_id"],
                   run_id=payload["run_id"], step=payload["step"], parent=telemetry.ROOT, start=started, end=now,
                   attributes=attributes, error=result["content"] if result["is_error"] else None)
    telemetry.record("tool", (now - datetime.fromisoformat(started)).total_seconds(),
                     {"gen_ai.tool.name": payload["name"], "error": result["is_error"]})
    telemetry.flush()


def _run_tool(payload: dict[str, Any]) -> dict[str, Any]:
    agent = get_agent(payload["agent"])
    tool = agent.tool(payload["name"])
    if tool is None:
        return {"content": f"error: there is no tool named {payload['name']!r}", "is_error": True}
    try:
        arguments = json.loads(payload.get("arguments") or "{}")
        result = tool.run(arguments)
    except ValueError as exc:
        return {"content": f"error: the arguments are not valid JSON: {exc}", "is_error": True}
    except AgentError as exc:
        return {"content": f"error: {exc.message}", "is_error": True}
    except Exception as exc:
        if tool.long_running:
            raise
        return {"content": f"error: {type(exc).__name__}: {exc}", "is_error": True}
    return {"content": result if isinstance(result, str) else json.dumps(result), "is_error": False}


async def tool_step(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one tool call (in a worker thread); a bad call becomes an error result the model can act on.

    Unexpected exceptions of long-running tools propagate, so that their retry policy applies. A re-run whose
    result was journaled returns it; a re-run of a tool declared ``idempotent=False`` that has no journaled
    result is not run again but answers that it was interrupted. A tool of an MCP server is called there, once per
    step like any tool; a re-run calls it again only when the server marks it read-only or idempotent.
    """
    run_id, step = payload["run_id"], payload["step"]
    store = open_store()
    journal = f"step:{run_id}:{step}"
    call = {"call_id": payload.get("call_id"), "name": payload["name"], "arguments": payload.get("arguments")}
    again = await store.step_started(run_id, step)
    agent = get_agent(payload["agent"])
    remote = await mcp_tools.find(agent, run_id, payload["name"], store)
    if again:
        if (earlier := await store.recall(journal)) is not None:
            return earlier
        tool = agent.tool(payload["name"])
        if (tool is not None and not tool.idempotent) or (remote is not None and not remote["idempotent"]):
            result = {"content": INTERRUPTED.format(name=payload["name"]), "is_error": True}
            await store.append(run_id, {"type": "tool_result", "step": step, "data": {**call, **result}})
            return await _journal(store, journal, result)
        await store.append(run_id, {"type": "step_restart", "step": step, "data": {"reason": "the step runs again"}})
    await store.append(run_id, {"type": "tool_call", "step": step, "data": call})
    if remote is not None:
        result = await mcp_tools.call(agent, remote, payload.get("arguments"))
    else:
        result = await asyncio.to_thread(_run_tool, payload)
    await store.append(run_id, {"type": "tool_result", "step": step, "data": {**call, **result}})
    _tool_span(payload, result, attempt=2 if again else 1)
    return await _journal(store, journal, result)


async def publish_step(payload: dict[str, Any]) -> None:
    """Publish one event the orchestrator decided on (status, approval_required, done, error), and emit the span
    of what ended with it (an approval wait, the run itself)."""
    await open_store().append(payload["run_id"], payload["event"])
    span = payload.get("span")
    if span and telemetry.enabled():
        telemetry.emit(**span)
        if span["step"] == telemetry.ROOT:
            telemetry.record("runs", 1, {"gen_ai.agent.name": span["attributes"]["gen_ai.agent.name"],
                                         "agents.run.status": span["attributes"]["agents.run.status"]})
        telemetry.flush()


def split_for_compaction(messages: list[dict[str, Any]], budget: int) -> int:
    """How many of the oldest messages to fold into the summary so the rest fits half the budget.

    The cut is made before a user message, so a tool call is never separated from its result.
    """
    keep_from = len(messages)
    while keep_from > 0 and session.estimate_tokens(messages[keep_from - 1:]) <= budget // 2:
        keep_from -= 1
    while keep_from < len(messages) and messages[keep_from].get("role") != "user":
        keep_from += 1
    return keep_from


async def compact_step(payload: dict[str, Any], client: df.DurableOrchestrationClient) -> dict[str, Any] | None:
    """A new summary and how many messages it replaces, or None when the session fits its budget."""
    config = settings.load()
    state = await read_session(client, payload["agent"], payload["session_id"])
    if not state or session.estimate_tokens(state["messages"]) <= config.session_token_budget:
        return None
    drop = split_for_compaction(state["messages"], config.session_token_budget)
    if drop == 0:
        return None
    earlier = state["messages"][:drop]
    transcript = "\n".join(f"{m['role']}: {m.get('content') or json.dumps(m.get('tool_calls'))}" for m in earlier)
    if state.get("summary"):
        transcript = f"(summary so far) {state['summary']}\n{transcript}"
    result = await model.chat(model.provider(config),
                              [{"role": "system", "content": SUMMARY_PROMPT}, {"role": "user", "content": transcript}])
    return {"summary": result["message"]["content"] or "", "drop": drop, "usage": result["usage"]}
