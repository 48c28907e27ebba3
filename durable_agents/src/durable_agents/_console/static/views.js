// The console's views other than chat: agents, sessions, runs with their timeline, workflows.

import { agents, api, submit } from "./api.js";
import { agentCard, approvalCard, historyItems } from "./chat.js";
import {
  badge, dashboardLink, duration, facts, h, link, pretty, runLink, sessionLink, show, table, time, toast, tokens,
  usageTitle,
} from "./dom.js";

const POLL_MS = 1000;
const SESSION_RUNS_MARGIN_MS = 5 * 60 * 1000;
const TERMINAL = new Set(["completed", "failed", "canceled"]);
const enc = encodeURIComponent;

// Redraw a view until it says it is final (or the person leaves it).
async function poll(signal, draw) {
  while (!signal.aborted) {
    if (await draw()) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// The trace a run's spans carry (a workflow's runs share the workflow's), to search for in a trace viewer.
function traceId(trace) {
  const hint = trace.exported
    ? "search for this trace id in your trace viewer (Application Insights: operation_Id)"
    : "this app exports no traces: set OTEL_EXPORTER_OTLP_ENDPOINT or APPLICATIONINSIGHTS_CONNECTION_STRING";
  return h("span", { className: "trace" }, h("code", { className: "trace-id", title: hint }, trace.trace_id),
    trace.exported ? null : h("span", { className: "muted" }, " (not exported)"));
}

const tokensCell = (usage) => h("td", { className: "num", title: usageTitle(usage) }, tokens(usage));

export async function agentsView(main) {
  const list = await agents();
  show(main, h("h1", {}, "Agents"),
    list.length
      ? h("div", { className: "cards" }, list.map((agent) => agentCard(agent, ...(agent.remote ? [] : [
        link(`#/chat/${enc(agent.name)}`, "Chat"), " · ", link(`#/sessions/${enc(agent.name)}`, "Sessions")]))))
      : h("p", { className: "muted" }, "This app has no agents."));
}

function agentPicker(current, route) {
  const select = h("select", { id: "agent-picker", onchange: () => { location.hash = route(select.value); } });
  agents().then((list) => select.replaceChildren(...list.filter((a) => !a.remote)
    .map((a) => h("option", { value: a.name, selected: a.name === current }, a.name))));
  return h("label", { className: "picker" }, "Agent ", select);
}

export async function sessionsView(main, signal, agentName) {
  if (!agentName) {
    const first = (await agents()).find((a) => !a.remote);
    if (first) location.replace(`#/sessions/${enc(first.name)}`);
    else show(main, h("p", { className: "muted" }, "This app has no agents."));
    return;
  }
  const data = await api(`agents/${enc(agentName)}/sessions`);
  const rows = data.sessions.map((s) => h("tr", { "data-session-id": s.session_id },
    h("td", {}, sessionLink(agentName, s.session_id)),
    h("td", { className: "num" }, s.turns),
    h("td", { className: "num" }, s.messages),
    tokensCell(s.usage),
    h("td", { className: "preview" }, s.last_message ?? ""),
    h("td", {}, s.queue.length ? `${s.queue.length} in progress` : ""),
    h("td", {}, time(s.updated))));
  show(main, h("div", { className: "title-row" }, h("h1", {}, "Sessions"), agentPicker(agentName, (a) => `#/sessions/${enc(a)}`),
    link(`#/chat/${enc(agentName)}`, "New chat")),
  table(["Session", "Turns", "Messages", "Tokens", "Last message", "Queue", "Updated"], rows,
    `${agentName} has no sessions yet.`));
}

export async function sessionView(main, signal, agentName, sessionId) {
  const path = `agents/${enc(agentName)}/sessions/${enc(sessionId)}`;
  const session = await api(path);
  // The session entity notes its creation when it takes the first run's turn, which can be after that run was
  // created (and on another machine's clock): look a little further back.
  const since = new Date(Date.parse(session.created) - SESSION_RUNS_MARGIN_MS).toISOString();
  const { runs } = await api("runs", { params: { agent: agentName, session_id: sessionId, since } });
  const forget = h("button", { type: "button", className: "danger", onclick: async () => {
    if (!confirm(`Forget session ${sessionId}? Its conversation is deleted.`)) return;
    try {
      await api(path, { method: "DELETE" });
      location.hash = `#/sessions/${enc(agentName)}`;
    } catch (error) {
      toast(error.message);
    }
  } }, "Forget session");
  const usage = session.usage;
  show(main,
    h("div", { className: "title-row" }, h("h1", {}, "Session ", h("code", {}, sessionId)),
      link(`#/chat/${enc(agentName)}/${enc(sessionId)}`, "Continue in chat"), forget),
    facts([["Agent", agentName], ["Turns", session.turns], ["Messages", session.messages.length],
      ["Compacted messages", session.compacted_messages || null],
      ["Tokens", h("span", { className: "usage" }, `${usage.total_tokens} (prompt ${usage.prompt_tokens}, completion ${usage.completion_tokens})`)],
      ["Created", time(session.created)], ["Updated", time(session.updated)],
      ["In progress", session.queue?.length ? h("span", {}, session.queue.map((e) => runLink(e.run_id))) : null]]),
    session.summary ? h("section", { className: "summary", "aria-labelledby": "summary-title" },
      h("h2", { id: "summary-title" }, "Summary of earlier turns"), h("p", {}, session.summary)) : null,
    h("section", { "aria-labelledby": "history-title" }, h("h2", { id: "history-title" }, "History"),
      session.messages.length ? h("ol", { className: "transcript history" }, historyItems(session.messages))
        : h("p", { className: "muted" }, "No messages (earlier ones are in the summary).")),
    h("section", { "aria-labelledby": "runs-title" }, h("h2", { id: "runs-title" }, "Runs"), runsTable(runs, false)));
}

function runsTable(runs, withSession = true) {
  return table(["Run", "Agent", withSession ? "Session" : null, "Status", "Steps", "Tokens", "Started", ""].filter((x) => x !== null),
    runs.map((run) => h("tr", { "data-run-id": run.run_id },
      h("td", {}, runLink(run.run_id)),
      h("td", {}, run.agent ?? ""),
      withSession ? h("td", {}, run.agent && run.session_id ? sessionLink(run.agent, run.session_id) : "") : null,
      h("td", {}, badge(run.status)),
      h("td", { className: "num" }, run.steps),
      tokensCell(run.usage),
      h("td", {}, time(run.created)),
      h("td", {}, dashboardLink(run.run_id)))),
    "No runs.");
}

export async function runsView(main, signal) {
  const agent = new URLSearchParams(location.hash.split("?")[1] ?? "").get("agent") ?? "";
  const { runs } = await api("runs", { params: { agent } });
  const select = h("select", { id: "run-agent", onchange: () => { location.hash = select.value ? `#/runs?agent=${enc(select.value)}` : "#/runs"; } },
    h("option", { value: "" }, "all"));
  agents().then((list) => select.append(...list.filter((a) => !a.remote)
    .map((a) => h("option", { value: a.name, selected: a.name === agent }, a.name))));
  show(main, h("div", { className: "title-row" }, h("h1", {}, "Runs"),
    h("label", { className: "picker" }, "Agent ", select), h("span", { className: "muted" }, "started in the last 24 hours")),
  runsTable(runs));
}

// The run's steps on one time axis: where each began and ended, how long it took, and a model step's tokens.
function timeline(steps, finished) {
  const starts = steps.map((s) => Date.parse(s.started_at)).filter(Number.isFinite);
  if (!starts.length) return h("p", { className: "muted" }, "No steps yet.");
  const begin = Math.min(...starts);
  const ends = steps.map((s) => (s.ended_at ? Date.parse(s.ended_at) : Date.now()));
  const end = Math.max(begin + 1, ...ends);
  const span = end - begin;
  return h("div", { className: "timeline" },
    h("div", { className: "tl-axis", "aria-hidden": "true" }, h("span", {}, "0"), h("span", {}, duration(span))),
    h("ol", { className: "tl-rows", "aria-label": "Steps" }, steps.map((step, i) => {
      const start = Date.parse(step.started_at);
      const took = ends[i] - start;
      const bar = h("span", { className: "tl-bar" });
      bar.style.left = `${((start - begin) / span) * 100}%`;
      bar.style.width = `max(3px, ${(took / span) * 100}%)`;
      return h("li", { className: "tl-row", "data-kind": step.kind, "data-status": step.status, "data-step": step.id },
        h("span", { className: "tl-label" }, h("span", { className: "kind" }, step.kind), h("span", { className: "tl-name" }, step.name)),
        h("span", { className: "tl-track" }, bar),
        h("span", { className: "tl-duration" }, step.ended_at ? duration(took) : finished ? "" : "running"),
        h("span", { className: "tl-tokens", title: usageTitle(step.usage) }, tokens(step.usage)),
        h("span", { className: "tl-status" }, badge(step.status)));
    })));
}

export async function runView(main, signal, runId) {
  let approval = null;
  const trace = await api(`runs/${enc(runId)}/trace`);
  await poll(signal, async () => {
    const run = await api(`runs/${enc(runId)}`);
    if (signal.aborted) return true;
    const finished = TERMINAL.has(run.status);
    const cancel = !finished ? h("button", { type: "button", onclick: async () => {
      try { await api(`runs/${enc(runId)}/cancel`, { method: "POST" }); } catch (error) { toast(error.message); }
    } }, "Cancel run") : null;
    // The approval card keeps its state (a comment being typed) across redraws while the same call waits.
    const pending = run.pending_approval;
    if (!pending) approval = null;
    else if (!approval || approval.requested !== pending.requested_at) {
      approval = { requested: pending.requested_at, card: approvalCard(runId, pending) };
    }
    show(main,
      h("div", { className: "title-row" }, h("h1", {}, "Run ", h("code", {}, runId)), badge(run.status), cancel,
        dashboardLink(runId)),
      facts([["Agent", run.agent], ["Session", sessionLink(run.agent, run.session_id)],
        ["Tokens", h("span", { title: usageTitle(run.usage) }, tokens(run.usage) || "0 tokens")],
        ["Trace", traceId(trace)],
        ["Workflow", trace.root !== runId ? link(`#/workflow/${enc(trace.root)}`, h("code", {}, trace.root)) : null],
        ["Waiting for", run.waiting_for ? runLink(run.waiting_for) : null]]),
      approval ? approval.card.el : null,
      h("section", { "aria-labelledby": "steps-title" }, h("h2", { id: "steps-title" }, "Steps"), timeline(run.steps, finished)),
      run.response !== undefined ? h("section", { "aria-labelledby": "response-title" },
        h("h2", { id: "response-title" }, "Response"), h("div", { className: "text response" }, run.response ?? "")) : null,
      run.structured !== undefined ? h("pre", { className: "json" }, pretty(run.structured)) : null,
      run.error ? h("section", {}, h("h2", {}, "Error"), h("pre", { className: "error" }, run.error)) : null);
    return finished;
  });
}

// A JSON example of what a schema takes, for a form's placeholder: its required properties (or else all of them).
function example(schema) {
  const properties = schema?.properties ?? {};
  const names = schema?.required?.length ? schema.required : Object.keys(properties);
  const sample = (p) => p.default ?? p.enum?.[0]
    ?? { string: "…", boolean: true, integer: 1, number: 1, array: [], object: {} }[p.type] ?? null;
  return JSON.stringify(Object.fromEntries(names.map((name) => [name, sample(properties[name] ?? {})])));
}

function startForm(workflow) {
  const input = h("textarea", { name: "input", rows: "2", "aria-label": `Input of ${workflow.name}`,
    placeholder: example(workflow.input_schema) });
  return h("form", { className: "start", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const started = await submit(`workflows/${enc(workflow.name)}`, input.value.trim() ? JSON.parse(input.value) : {});
      location.hash = `#/workflow/${enc(started.id)}`;
    } catch (error) {
      toast(error.message);
    }
  } }, input, h("button", { type: "submit" }, `Start ${workflow.name}`));
}

export async function workflowsView(main) {
  const { workflows } = await api("workflows");
  show(main, h("h1", {}, "Workflows"), workflows.length ? workflows.map((workflow) =>
    h("section", { className: "workflow", "data-workflow": workflow.name, "aria-labelledby": `wf-${workflow.name}` },
      h("h2", { id: `wf-${workflow.name}` }, workflow.name), startForm(workflow),
      table(["Instance", "Status", "Stage", "Runs", "Started"], workflow.instances.map((w) => h("tr", { "data-workflow-id": w.id },
        h("td", {}, link(`#/workflow/${enc(w.id)}`, h("code", {}, w.id))),
        h("td", {}, badge(w.status)), h("td", {}, w.stage ?? ""), h("td", { className: "num" }, w.runs.length),
        h("td", {}, time(w.created)))), `No ${workflow.name} workflow has run yet.`)))
    : h("p", { className: "muted" }, "This app declares no workflows."));
}

function eventForm(workflowId, events, schemas) {
  const body = h("textarea", { name: "body", rows: "2", "aria-label": "Event data" });
  const name = h("select", { name: "event", "aria-label": "Event",
    onchange: () => { body.placeholder = example(schemas[name.value]); } }, events.map((e) => h("option", { value: e }, e)));
  body.placeholder = example(schemas[events[0]]);
  return h("form", { className: "start", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await submit(`workflows/${enc(workflowId)}/events/${enc(name.value)}`, body.value.trim() ? JSON.parse(body.value) : {});
      toast(`Sent ${name.value}`);
    } catch (error) {
      toast(error.message);
    }
  } }, name, body, h("button", { type: "submit" }, "Send event"));
}

export async function workflowView(main, signal, workflowId) {
  const runs = new Map();
  let form;
  let trace = null;
  await poll(signal, async () => {
    const workflow = await api(`workflows/${enc(workflowId)}`);
    if (form === undefined) {
      const { events, event_schemas: schemas } = (await api("workflows", { params: { name: workflow.pattern } })).workflows[0];
      // Made once, so that what a person is typing survives the redraws.
      form = events.length ? eventForm(workflowId, events, schemas) : null;
    }
    // A finished run does not change: read each once, and the unfinished ones again.
    await Promise.all((workflow.runs ?? []).filter((id) => !TERMINAL.has(runs.get(id)?.status))
      .map(async (id) => runs.set(id, await api(`runs/${enc(id)}`).catch(() => ({ run_id: id, status: "pending" })))));
    // Only runs emit spans, and they all carry the workflow's trace: it is known once the first run is.
    const first = workflow.runs?.[0];
    if (!trace && first && runs.get(first)?.agent) trace = await api(`runs/${enc(first)}/trace`).catch(() => null);
    if (signal.aborted) return true;
    const finished = TERMINAL.has(workflow.status);
    const { stage, runs: _, ...extra } = workflow.custom_status ?? {};
    show(main,
      h("div", { className: "title-row" }, h("h1", {}, "Workflow ", h("code", {}, workflowId)), badge(workflow.status),
        dashboardLink(workflowId)),
      facts([["Workflow", workflow.pattern], ["Stage", stage ? h("span", { className: "stage" }, stage) : null],
        ["Trace", trace ? traceId(trace) : null]]),
      Object.keys(extra).length ? h("pre", { className: "json custom" }, pretty(extra)) : null,
      h("section", { "aria-labelledby": "wf-runs" }, h("h2", { id: "wf-runs" }, "Runs"),
        table(["Run", "Agent", "Status", "Tokens", ""], (workflow.runs ?? []).map((id) => {
          const run = runs.get(id);
          return h("tr", { "data-run-id": id }, h("td", {}, runLink(id)), h("td", {}, run.agent ?? ""),
            h("td", {}, badge(run.status)), tokensCell(run.usage), h("td", {}, dashboardLink(id)));
        }), "No runs yet.")),
      finished ? null : form,
      workflow.output ? h("section", {}, h("h2", {}, "Output"), h("pre", { className: "json" }, pretty(workflow.output))) : null,
      workflow.error ? h("section", {}, h("h2", {}, "Error"), h("pre", { className: "error" }, workflow.error)) : null);
    return finished;
  });
}
