"""A run as an MCP tool result: what an MCP trigger function returns for the MCP extension to answer with.

The function's return value is the extension's ``McpToolResult`` (``{"type", "content", "structuredContent"}``,
with the trigger's ``useResultSchema`` on): of type ``call_tool_result``, its ``content`` is a whole
``CallToolResult`` as JSON text, so ``isError`` reaches the client as given here.
"""

from __future__ import annotations

import json
from typing import Any

APPROVAL_TOOL = "decide_approval"


def tool_result(texts: list[str], structured: dict[str, Any] | None = None, *, error: bool = False) -> str:
    """The trigger's return value: text blocks for the model, ``structured`` for programs, ``error`` as ``isError``."""
    result: dict[str, Any] = {"content": [{"type": "text", "text": text} for text in texts], "isError": error}
    if structured is not None:
        result["structuredContent"] = structured
    return json.dumps({"type": "call_tool_result", "content": json.dumps(result),
                       "structuredContent": json.dumps(structured) if structured is not None else None})


def refusal(message: str) -> str:
    """Bad input, or a run that could not start: an error result, never an exception (the host answers for it)."""
    return tool_result([message], error=True)


def _about(view: dict[str, Any]) -> dict[str, Any]:
    return {"run_id": view["run_id"], "agent": view["agent"], "session_id": view["session_id"],
            "status": view["status"], "links": view["links"]}


def _continue(view: dict[str, Any]) -> str:
    return (f"session_id: {view['session_id']} (pass it as session_id to {view['agent']} to continue this "
            f"conversation; run {view['run_id']})")


def _approval(view: dict[str, Any]) -> str:
    pending = view["pending_approval"]
    arguments = json.dumps(pending["arguments"])
    decide = json.dumps({"run_id": view["run_id"], "approved": True})
    return (f"Run {view['run_id']} of agent {view['agent']} waits for a person to approve a tool call: "
            f"{pending['tool']} with the arguments {arguments}, until {pending['expires_at']}. Ask your user; do not "
            f"decide for them. To decide, call the MCP tool {APPROVAL_TOOL} with {decide} (or \"approved\": false, "
            f"with a \"comment\" saying why), or POST {view['links']['approval']} with the JSON body "
            '{"approved": true} (or false). The answer comes once the run goes on.')


def answer(view: dict[str, Any], waited: float) -> str:
    """The result for a run as ``wait_run`` left it after ``waited`` seconds: its answer, the approval it waits for
    and how to decide it, or an error result (failed, canceled, not finished in time)."""
    about = _about(view)
    status = view["status"]
    if status == "completed":
        return tool_result([view["response"] or "", _continue(view)], {**about, "response": view["response"]})
    if status == "awaiting_approval":
        pending = view["pending_approval"]
        return tool_result([_approval(view), _continue(view)], {**about, "pending_approval": pending, "decide": {
            "mcp_tool": {"name": APPROVAL_TOOL, "arguments": {"run_id": view["run_id"], "approved": True}},
            "http": {"method": "POST", "url": view["links"]["approval"], "body": {"approved": True}}}})
    if status == "failed":
        return tool_result([f"Run {view['run_id']} of agent {view['agent']} failed: {view['error']}"],
                           {**about, "error": view["error"]}, error=True)
    if status == "canceled":
        return tool_result([f"Run {view['run_id']} of agent {view['agent']} was canceled."], about, error=True)
    return tool_result([f"Run {view['run_id']} of agent {view['agent']} did not finish within {waited:g} s; it goes on "
                        f"({status}). Its outcome will be at GET {view['links']['status']}.", _continue(view)],
                       about, error=True)
