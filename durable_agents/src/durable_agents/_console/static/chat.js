// Chat with an agent: the answer streams in, tool calls and their results show inline, and a tool that needs a
// person's approval asks for it inline. The session is in the address, so a reload continues the conversation.

import { agents, api, ApiError, follow, newId, submit } from "./api.js";
import { dashboardLink, h, link, pretty, runLink, sessionLink, show, time, tokens, usageTitle } from "./dom.js";

const SHORT_ARGUMENTS = 100;

// Short arguments on the tool's line, as compact JSON; longer ones indented below it.
function args(text) {
  let compact = text ?? "";
  try { compact = JSON.stringify(JSON.parse(compact)); } catch { /* shown as the model wrote them */ }
  return compact.length <= SHORT_ARGUMENTS
    ? [h("code", { className: "tool-args" }, compact), null]
    : [null, h("pre", { className: "tool-args" }, pretty(text))];
}

export function toolCard(name, argumentsText) {
  const output = h("pre", { className: "tool-result" });
  const [inline, block] = args(argumentsText);
  const el = h("div", { className: "tool", "data-tool": name, "data-state": "running" },
    h("div", { className: "tool-head" }, h("span", { className: "kind" }, "tool"), h("strong", {}, name), inline),
    block, output);
  return {
    el,
    result(content, isError) {
      output.textContent = content;
      el.dataset.state = isError ? "failed" : "completed";
    },
  };
}

// Approve or deny the tool call a run waits on. settle() closes a card that was decided elsewhere (or timed out).
export function approvalCard(runId, pending, onDecided = () => {}) {
  const comment = h("input", { type: "text", name: "comment", placeholder: "comment (optional)", "aria-label": "Comment" });
  const note = h("span", { className: "approval-note" }, pending.expires_at ? `expires ${time(pending.expires_at)}` : "");
  const buttons = [
    h("button", { type: "button", className: "approve", onclick: () => decide(true) }, "Approve"),
    h("button", { type: "button", className: "deny", onclick: () => decide(false) }, "Deny"),
  ];
  const actions = h("div", { className: "approval-actions" }, comment, buttons, note);
  const el = h("div", { className: "approval", role: "group", "aria-label": `Approval for ${pending.tool}`,
    "data-state": "pending" },
  h("p", {}, h("strong", {}, pending.tool), " needs your approval to run with:"),
  h("pre", {}, pretty(pending.arguments ?? {})), actions);
  const close = (state, text) => {
    el.dataset.state = state;
    const said = comment.value.trim();
    actions.replaceChildren(h("span", { className: `badge ${state}` }, text));
    if (said) actions.append(h("span", { className: "muted" }, said));
  };
  async function decide(approved) {
    for (const button of buttons) button.disabled = true;
    try {
      await submit(`runs/${encodeURIComponent(runId)}/approval`, { approved, comment: comment.value.trim() || null });
      close(approved ? "approved" : "denied", approved ? "Approved" : "Denied");
      onDecided(approved);
    } catch (error) {
      note.textContent = error.message;
      for (const button of buttons) button.disabled = false;
    }
  }
  return { el, settle: () => { if (el.dataset.state === "pending") close("decided", "Decided"); } };
}

const bubble = (who, ...body) => h("li", { className: `msg ${who === "you" ? "user" : "assistant"}` },
  h("span", { className: "who" }, who), h("div", { className: "body" }, body));
const userMessage = (text) => bubble("you", h("div", { className: "text" }, text));

// A conversation's stored messages: user and assistant text, and tool calls with their results. The assistant
// messages of one turn (tool calls, then the answer) share one bubble, as they did while the turn streamed.
export function historyItems(messages) {
  const items = [];
  const cards = new Map();
  let parts = null;
  for (const message of messages) {
    if (message.role === "user") {
      items.push(userMessage(message.content ?? ""));
      parts = null;
    }
    if (message.role === "assistant") {
      if (!parts) {
        parts = h("div", { className: "parts" });
        items.push(bubble("agent", parts));
      }
      if (message.content) parts.append(h("div", { className: "text" }, message.content));
      for (const call of message.tool_calls ?? []) {
        const card = toolCard(call.function?.name ?? "?", call.function?.arguments);
        cards.set(call.id, card);
        parts.append(card.el);
      }
    }
    if (message.role === "tool") {
      const content = String(message.content ?? "");
      cards.get(message.tool_call_id)?.result(content, content.startsWith("error:"));
    }
  }
  return items;
}

// One run as it streams: text per model step, tool cards per tool step, approval cards, and a status line.
class Turn {
  constructor() {
    this.parts = h("div", { className: "parts" });
    this.status = h("p", { className: "turn-status", "aria-live": "polite" }, "sending…");
    this.el = bubble("agent", this.parts, this.status);
    this.el.classList.add("turn");
    this.texts = new Map();
    this.tools = new Map();
    this.approvals = [];
    this.runId = null;
  }

  started(run) {
    this.runId = run.run_id;
    this.el.dataset.runId = run.run_id;
    this.el.dataset.status = run.status;
    if (run.status === "queued" && run.waiting_for) {
      this.say("queued: waiting for run ", runLink(run.waiting_for), " to finish");
    } else {
      this.running();
    }
  }

  say(...content) {
    show(this.status, ...content);
  }

  running() {
    const cancel = h("button", { type: "button", className: "link-button", onclick: () => this.cancel(cancel) }, "cancel");
    this.el.dataset.status = "running";
    this.say(h("span", { className: "spinner", "aria-hidden": "true" }), "running · ", runLink(this.runId), " · ", cancel);
  }

  async cancel(button) {
    button.disabled = true;
    try {
      await api(`runs/${encodeURIComponent(this.runId)}/cancel`, { method: "POST" });
    } catch (error) {
      button.disabled = false;
      this.say(`could not cancel: ${error.message}`);
    }
  }

  text(step) {
    if (!this.texts.has(step)) {
      const block = h("div", { className: "text", "data-step": step });
      this.texts.set(step, block);
      this.parts.append(block);
    }
    return this.texts.get(step);
  }

  settle() {
    for (const card of this.approvals) card.settle();
  }

  handle(event) {
    const data = event.data ?? {};
    if (this.el.dataset.status === "queued") this.running();
    switch (event.type) {
      case "delta":
        this.text(event.step).append(data.text);
        break;
      case "step_restart":
        // The step runs again from the start: what it produced so far is void.
        this.texts.get(event.step)?.replaceChildren();
        this.tools.get(event.step)?.el.remove();
        this.tools.delete(event.step);
        break;
      case "tool_call": {
        const card = toolCard(data.name, data.arguments);
        this.tools.set(event.step, card);
        this.parts.append(card.el);
        break;
      }
      case "tool_result":
        if (!this.tools.has(event.step)) this.handle({ ...event, type: "tool_call" });
        this.tools.get(event.step).result(data.content, data.is_error);
        break;
      case "approval_required": {
        const card = approvalCard(this.runId, data);
        this.approvals.push(card);
        this.parts.append(card.el);
        break;
      }
      case "status":
        this.settle();
        break;
      case "done":
        this.finish("completed", data.usage);
        if (!this.texts.size && data.response) this.text("answer").append(data.response);
        break;
      case "error":
        this.finish("failed");
        this.parts.append(h("p", { className: "error" }, data.message ?? "the run failed"));
        break;
    }
  }

  finish(status, usage) {
    this.settle();
    this.el.dataset.status = status;
    this.say(status, " · ", h("span", { title: usageTitle(usage) }, tokens(usage)), usage ? " · " : "",
      link(`#/run/${encodeURIComponent(this.runId)}`, "timeline"), " ", dashboardLink(this.runId));
  }

  async follow(signal) {
    try {
      await follow(this.runId, (event) => this.handle(event), signal);
    } catch (error) {
      if (!signal.aborted) this.fail(error);
    }
  }

  fail(error) {
    this.el.dataset.status = "failed";
    this.say(h("span", { className: "error" }, error instanceof ApiError ? `${error.code}: ${error.message}` : String(error.message ?? error)));
  }
}

export async function chatView(main, signal, agentName, sessionId) {
  if (!sessionId) {
    location.replace(`#/chat/${encodeURIComponent(agentName)}/${newId(6)}`);
    return;
  }
  const agent = (await agents()).find((a) => a.name === agentName && !a.remote);
  if (!agent) {
    main.replaceChildren(h("p", { className: "error" }, `There is no agent named ${agentName} to chat with here.`), link("#/", "All agents"));
    return;
  }
  const transcript = h("ol", { className: "transcript", "aria-label": "Conversation" });
  const input = h("textarea", { id: "message", name: "message", rows: "2", required: true,
    placeholder: `Message ${agent.name}… (Enter sends, Shift+Enter for a new line)` });
  const form = h("form", { className: "composer", onsubmit: send },
    h("label", { for: "message", className: "visually-hidden" }, "Message"), input,
    h("button", { type: "submit" }, "Send"));
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  main.replaceChildren(h("div", { className: "chat" },
    h("section", { className: "chat-main", "aria-labelledby": "chat-title" },
      h("h1", { id: "chat-title" }, "Chat with ", h("code", {}, agent.name)),
      h("p", { className: "muted session-line" }, "Session ", sessionLink(agent.name, sessionId), " · ",
        link(`#/chat/${encodeURIComponent(agent.name)}`, "new session")),
      transcript, form),
    agentCard(agent)));

  async function send(event) {
    event.preventDefault();
    const message = input.value.trim();
    if (!message) return;
    input.value = "";
    const turn = new Turn();
    transcript.append(userMessage(message), turn.el);
    turn.el.scrollIntoView({ block: "end" });
    try {
      turn.started(await submit(`agents/${encodeURIComponent(agent.name)}/run`,
        { message, session_id: sessionId, wait: false }));
    } catch (error) {
      turn.fail(error);
      return;
    }
    await turn.follow(signal);
  }

  try {
    const session = await api(`agents/${encodeURIComponent(agent.name)}/sessions/${encodeURIComponent(sessionId)}`);
    if (session.summary) {
      transcript.append(h("li", { className: "summary" }, h("strong", {}, "Earlier turns, summarised: "), session.summary));
    }
    transcript.append(...historyItems(session.messages));
    // Turns still running or queued (say, after a reload) are followed as they go on.
    for (const entry of session.queue ?? []) {
      const turn = new Turn();
      transcript.append(turn.el);
      turn.started({ run_id: entry.run_id, status: "running" });
      turn.follow(signal);
    }
  } catch (error) {
    if (error.code !== "SessionNotFound") transcript.append(h("li", { className: "error" }, error.message));
  }
  input.focus();
}

export function agentCard(agent, ...actions) {
  const flags = (tool) => [tool.requires_approval && "needs approval", tool.long_running && "long-running",
    tool.idempotent === false && "not repeated after a crash"].filter(Boolean);
  return h("aside", { className: "card agent", "data-agent": agent.name, "aria-label": `Agent ${agent.name}` },
    h("h2", {}, agent.name, agent.remote ? h("span", { className: "flag" }, "remote A2A agent") : null),
    h("p", {}, agent.description),
    agent.remote ? null : agent.tools.length
      ? h("ul", { className: "tools", "aria-label": "Tools" }, agent.tools.map((tool) => h("li", { "data-tool": tool.name },
        h("code", {}, tool.name), flags(tool).map((flag) => h("span", { className: "flag" }, flag)),
        h("div", { className: "muted" }, tool.description))))
      : h("p", { className: "muted" }, "No tools."),
    actions.length ? h("p", { className: "actions" }, actions) : null);
}
