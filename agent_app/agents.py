"""The agents this app ships, and the tools they use: plain definitions on durable_agents' public API."""

from __future__ import annotations

import ast
import json
import math
import operator
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from durable_agents import Agent, AgentError, McpServer, ModelOptions, RemoteAgent, tool

_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
              ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
              ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {"sqrt": math.sqrt, "log": math.log, "exp": math.exp, "abs": abs, "round": round}


@tool
def current_time(timezone: Annotated[str, "IANA time zone, e.g. Europe/Paris"] = "UTC") -> str:
    """The current date and time in a time zone, ISO 8601."""
    try:
        return datetime.now(ZoneInfo(timezone)).isoformat(timespec="seconds")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise AgentError("UnknownTimeZone", f"unknown time zone {timezone!r}") from exc


@tool
def calculate(expression: Annotated[str, "arithmetic, e.g. (2 + 3) * sqrt(16)"]) -> float:
    """Evaluate an arithmetic expression exactly as written (+ - * / // % **, sqrt, log, exp, abs, round)."""

    def evaluate(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            if isinstance(node.op, ast.Pow) and abs(evaluate(node.right)) > 1000:
                raise AgentError("ExpressionTooLarge", "exponents above 1000 are not evaluated")
            return _OPERATORS[type(node.op)](evaluate(node.left), evaluate(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](evaluate(node.operand))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
                and not node.keywords):
            return _FUNCTIONS[node.func.id](*(evaluate(a) for a in node.args))
        raise AgentError("InvalidExpression", f"cannot evaluate {ast.unparse(node)!r}")

    try:
        tree = ast.parse(expression, mode="eval")
        return evaluate(tree.body)
    except (SyntaxError, ZeroDivisionError, ValueError, OverflowError) as exc:
        raise AgentError("InvalidExpression", f"{expression!r}: {exc}") from exc


@tool(long_running=True, timeout_seconds=300, max_attempts=3)
def count_primes(limit: Annotated[int, "count the primes below this number (at most 50,000,000)"]) -> int:
    """Count the prime numbers below a limit (a long computation for large limits)."""
    if not 2 <= limit <= 50_000_000:
        raise AgentError("LimitOutOfRange", "limit must be between 2 and 50,000,000")
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for n in range(2, math.isqrt(limit - 1) + 1):
        if sieve[n]:
            sieve[n * n::n] = bytes(len(range(n * n, limit, n)))
    return sum(sieve)


def outbox_dir() -> Path:
    """Where sent emails are written: ``OUTBOX_DIR``, else a folder in the temp directory."""
    return Path(os.environ.get("OUTBOX_DIR") or Path(tempfile.gettempdir()) / "agents-outbox")


@tool(requires_approval=True, idempotent=False)
def send_email(to: Annotated[str, "recipient address"], subject: str, body: str) -> str:
    """Send an email (a person must approve it first). Written to the outbox folder as JSON."""
    if "@" not in to or len(to) > 254:
        raise AgentError("InvalidAddress", f"{to!r} is not an email address")
    folder = outbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    sent_at = datetime.now().astimezone().isoformat(timespec="seconds")
    path = folder / f"{datetime.now().strftime('%Y%m%dT%H%M%S%f')}.json"
    path.write_text(json.dumps({"to": to, "subject": subject, "body": body, "sent_at": sent_at}), encoding="utf-8")
    return f"sent to {to} ({path.name})"


TRIAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": ["billing", "technical", "general", "spam"]},
        "reason": {"type": "string"},
    },
    "required": ["category", "reason"],
    "additionalProperties": False,
}

def remote_agents(setting: str) -> tuple[RemoteAgent, ...]:
    """Remote A2A agents from ``REMOTE_A2A_AGENTS``: ``name=card-url`` pairs, separated by spaces."""
    remotes = []
    for pair in setting.split():
        name, _, url = pair.partition("=")
        if not name or not url.startswith(("http://", "https://")):
            raise ValueError(f"REMOTE_A2A_AGENTS: {pair!r} is not name=https://.../agent-card.json")
        remotes.append(RemoteAgent(name, url, description=f"the remote agent {name}"))
    return tuple(remotes)


REMOTES = remote_agents(os.environ.get("REMOTE_A2A_AGENTS", ""))


def mcp_servers(setting: str) -> tuple[McpServer, ...]:
    """MCP servers whose tools the assistant uses, from ``MCP_SERVERS``: ``name=url`` pairs, separated by spaces."""
    servers = []
    for pair in setting.split():
        name, _, url = pair.partition("=")
        if not name or not url.startswith(("http://", "https://")):
            raise ValueError(f"MCP_SERVERS: {pair!r} is not name=https://.../mcp")
        servers.append(McpServer(name, url))
    return tuple(servers)


MCP_SERVERS = mcp_servers(os.environ.get("MCP_SERVERS", ""))

AGENTS: tuple[Agent | RemoteAgent, ...] = (
    Agent("assistant", "A general assistant that can tell the time, calculate, count primes and send email.",
          "You are a helpful, concise assistant. Use tools when they give a more exact answer.",
          tools=(current_time, calculate, count_primes, send_email, *MCP_SERVERS)),
    Agent("researcher", "Gathers the key facts about a topic.",
          "List the key facts about the topic you are given, as short bullet points.",
          model=ModelOptions(temperature=0.2)),
    Agent("writer", "Writes a short, clear piece from notes or a brief.",
          "Write a short, clear piece from what you are given. Apply any feedback you receive."),
    Agent("editor", "Edits a draft for clarity and correctness.",
          "Edit the draft you are given for clarity, correctness and brevity. Return only the edited text."),
    Agent("optimist", "Answers with the strongest case for.", "Give the strongest case in favour, briefly."),
    Agent("skeptic", "Answers with the strongest case against.", "Give the strongest case against, briefly."),
    Agent("pragmatist", "Answers with what to do in practice.", "Say what to do in practice, briefly."),
    Agent("synthesizer", "Combines several answers into one.",
          "Combine the answers you are given into one balanced answer. Keep what they agree on; "
          "state real disagreements."),
    Agent("classifier", "Sorts a support message into billing, technical, general or spam.",
          "Classify the customer message. Answer only with JSON matching the schema.",
          model=ModelOptions(temperature=0)),
    Agent("billing", "Answers billing questions.", "You are a billing specialist. Answer the customer politely."),
    Agent("technical", "Answers technical questions.", "You are a technical support engineer. Answer precisely."),
    *REMOTES,
    # With remote agents configured, one local agent that can ask them (each as a tool).
    *((Agent("delegator", "Asks the remote agents and reports what they say.",
             "Ask the remote agent that fits the question, then report its answer.",
             tools=tuple(remote.as_tool() for remote in REMOTES)),) if REMOTES else ()),
)
