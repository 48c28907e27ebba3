"""Chat with an agent in the terminal: answers stream in, tool calls show, approvals are asked for.

    python -m agents.chat assistant [--url http://127.0.0.1:7071] [--session ID] [--key KEY]

The session is kept between messages (and printed, so you can come back to it with --session).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any, TextIO

import httpx

from .client import AgentClient


class Printer:
    """Prints stream events as a person wants to see them, and asks the person about approvals."""

    def __init__(self, client: AgentClient, run_id: str, lines: TextIO, out: TextIO) -> None:
        self.client, self.run_id, self.lines, self.out = client, run_id, lines, out
        self.step: str | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        kind, data = event["type"], event.get("data") or {}
        if kind == "delta":
            if event.get("step") != self.step:
                self.step = event.get("step")
                self.out.write("\nagent> ")
            self.out.write(data["text"])
        elif kind == "step_restart":
            self.out.write("\n[the model is answering again; ignore the partial text above]")
        elif kind == "tool_call":
            self.out.write(f"\n  [tool] {data['name']}({data.get('arguments') or ''})")
        elif kind == "tool_result":
            self.out.write(f"\n  [tool] -> {data['content'][:200]}")
        elif kind == "approval_required":
            self.out.write(f"\n{data['tool']} wants to run with {json.dumps(data['arguments'])}. Allow? [y/N] ")
            self.out.flush()
            answer = (self.lines.readline() or "").strip().lower()
            self.client.approve(self.run_id, answer in ("y", "yes"))
        elif kind == "error":
            self.out.write(f"\n[error] {data.get('message')}")
        self.out.flush()


def chat(client: AgentClient, agent: str, session_id: str, lines: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """Read messages until EOF or /quit; stream each answer."""
    out.write(f"Chatting with {agent} (session {session_id}). /quit to leave.\n")
    while True:
        out.write("\nyou> ")
        out.flush()
        message = lines.readline()
        if not message or message.strip() in ("/quit", "/exit"):
            out.write("\n")
            return
        if not message.strip():
            continue
        run = client.start(agent, message.strip(), session_id=session_id)
        client.follow(run["run_id"], on_event=Printer(client, run["run_id"], lines, out))
        out.write("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents.chat", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("agent")
    parser.add_argument("--url", default="http://127.0.0.1:7071")
    parser.add_argument("--session", default=None)
    parser.add_argument("--key", default=None, help="function key (Azure)")
    args = parser.parse_args(argv)
    session_id = args.session or uuid.uuid4().hex[:12]
    with AgentClient(args.url, key=args.key) as client:
        try:
            chat(client, args.agent, session_id)
        except KeyboardInterrupt:
            pass
        except RuntimeError as exc:
            print(f"\n{exc}", file=sys.stderr)
            return 1
        except httpx.ConnectError:
            print(f"\ncannot reach {args.url}: is the app running? (./scripts/dev)", file=sys.stderr)
            return 1
    print(f"session: {session_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
