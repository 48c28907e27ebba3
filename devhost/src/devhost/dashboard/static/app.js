"use strict";
// devhost dashboard: plain DOM, no build step, nothing fetched but this host's own /devhost/api.

const API = "/devhost/api";
const KEY = new URLSearchParams(location.search).get("code");
const STATUSES = ["Pending", "Running", "Suspended", "Completed", "Failed", "Terminated", "ContinuedAsNew"];
const FINISHED = new Set(["Completed", "Failed", "Terminated"]);
const PAGE_SIZE = 20;
const REFRESH_MS = 1500;

const state = {
  hub: null,
  filters: { runtimeStatus: "", name: "", instanceIdPrefix: "", createdTimeFrom: "", createdTimeTo: "" },
  pages: [""],          // continuation tokens of the pages seen so far; the last one is shown
  autoRefresh: true,
  poll: null,
  render: 0,            // each render takes a number; one that finds a newer number after a fetch gives way
  openSpans: new Set(), // timeline spans of the shown instance whose details are open
};

// --- small helpers -------------------------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, { method = "GET", body, params = {}, headers = {} } = {}) {
  const url = new URL(API + path, location.origin);
  for (const [name, value] of Object.entries({ ...params, taskHub: state.hub })) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const sent = { ...headers };
  if (KEY) sent["x-functions-key"] = KEY;
  if (body !== undefined) sent["content-type"] = "application/json";
  const response = await fetch(url, { method, headers: sent, body: body === undefined ? undefined : body });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) {
    throw new Error((data && data.error && data.error.message) || `${response.status} ${response.statusText}`);
  }
  return { data, headers: response.headers, status: response.status };
}

function toast(message, isError = false) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = isError ? "error" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, isError ? 6000 : 2500);
}

async function act(label, action) {
  try {
    await action();
    toast(label);
  } catch (error) {
    toast(`${label} failed: ${error.message}`, true);
    throw error;
  }
}

const badge = (status) => h("span", { className: `badge ${status}` }, status);

// A string that holds a JSON object or array (an output returned as JSON text, say) is shown as that JSON.
function unwrap(value) {
  if (typeof value !== "string" || !/^\s*[[{]/.test(value)) return value;
  try {
    const parsed = JSON.parse(value);
    return parsed !== null && typeof parsed === "object" ? parsed : value;
  } catch {
    return value;
  }
}

const isJsonText = (value) => unwrap(value) !== value;
const pretty = (value) => JSON.stringify(unwrap(value), null, 2);
const json = (value) => h("pre", {
  className: "mono", "data-json-text": isJsonText(value), title: isJsonText(value) ? "a string of JSON, shown parsed" : null,
}, value === undefined ? "" : pretty(value));
// Plain text stays text (a reason, a failure message); JSON and JSON text are shown as JSON.
const text = (value) => (typeof value === "string" && !isJsonText(value) ? value : pretty(value));
const textOrJson = (value) => (value !== null && typeof unwrap(value) === "object" ? json(value) : text(value));
const when = (text) => (text ? new Date(text).toLocaleString() : "");

function duration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  if (ms < 3600000) return `${(ms / 60000).toFixed(1)} min`;
  return `${(ms / 3600000).toFixed(1)} h`;
}

function stopPolling() {
  clearTimeout(state.poll);
  state.poll = null;
}

function schedule(refresh) {
  stopPolling();
  state.poll = setTimeout(refresh, REFRESH_MS);
}

// --- task hubs ------------------------------------------------------------------------------------------------

async function loadHubs() {
  const { data } = await api("/hubs");
  const select = document.getElementById("hub");
  state.hub = state.hub || data.default;
  select.replaceChildren(...data.hubs.map((hub) => {
    const total = Object.values(hub.counts).reduce((a, b) => a + b, 0);
    return h("option", { value: hub.name, selected: hub.name === state.hub }, `${hub.name} (${total})`);
  }));
}

// --- orchestrations list --------------------------------------------------------------------------------------

function filtersForm() {
  const f = state.filters;
  const field = (label, input) => h("label", {}, label, input);
  const apply = (event) => {
    event.preventDefault();
    const form = event.target.closest("form");
    for (const name of Object.keys(f)) f[name] = form.elements[name].value.trim();
    state.pages = [""];
    renderList();
  };
  return h("form", { className: "filters panel", onsubmit: apply },
    field("Status", h("select", { name: "runtimeStatus" },
      h("option", { value: "" }, "any"),
      STATUSES.map((s) => h("option", { value: s, selected: f.runtimeStatus === s }, s)))),
    field("Name", h("input", { name: "name", value: f.name, placeholder: "orchestrator name" })),
    field("Instance ID prefix", h("input", { name: "instanceIdPrefix", value: f.instanceIdPrefix })),
    field("Created from", h("input", { name: "createdTimeFrom", type: "datetime-local", value: f.createdTimeFrom })),
    field("Created to", h("input", { name: "createdTimeTo", type: "datetime-local", value: f.createdTimeTo })),
    h("button", { className: "primary", type: "submit" }, "Apply"),
    h("label", {}, "Auto-refresh", h("input", {
      type: "checkbox", name: "autoRefresh", checked: state.autoRefresh,
      onchange: (event) => { state.autoRefresh = event.target.checked; renderList(); },
    })),
  );
}

function listParams() {
  const params = { top: PAGE_SIZE, showInput: "false" };
  for (const [name, value] of Object.entries(state.filters)) {
    if (!value) continue;
    params[name] = name.startsWith("createdTime") ? new Date(value).toISOString() : value;
  }
  return params;
}

async function renderList() {
  stopPolling();
  const ticket = ++state.render;
  const view = document.getElementById("view");
  if (!view.querySelector("form.filters")) {
    view.replaceChildren(h("h1", {}, "Orchestrations"), filtersForm(), h("div", { id: "list", className: "panel" }));
  }
  const list = document.getElementById("list");
  const token = state.pages[state.pages.length - 1];
  let result;
  try {
    result = await api("/instances", { params: listParams(), headers: token ? { "x-ms-continuation-token": token } : {} });
  } catch (error) {
    if (ticket === state.render) list.replaceChildren(h("div", { className: "empty" }, `Could not list instances: ${error.message}`));
    return;
  }
  if (ticket !== state.render) return;
  const next = result.headers.get("x-ms-continuation-token");
  const versioned = result.data.some((s) => s.version !== undefined);
  const rows = result.data.map((s) => h("tr", { "data-instance-id": s.instanceId },
    h("td", { className: "mono" }, h("a", { href: `#/instance/${encodeURIComponent(s.instanceId)}` }, s.instanceId)),
    h("td", {}, s.name),
    versioned ? h("td", { className: "mono version" }, s.version ?? "") : null,
    h("td", {}, badge(s.runtimeStatus)),
    h("td", {}, when(s.createdTime)),
    h("td", {}, when(s.lastUpdatedTime)),
  ));
  const pager = h("div", { className: "pager" },
    h("button", { disabled: state.pages.length === 1, onclick: () => { state.pages.pop(); renderList(); } }, "Previous"),
    h("span", {}, `Page ${state.pages.length}`),
    h("button", { disabled: !next, onclick: () => { state.pages.push(next); renderList(); } }, "Next"));
  const headings = ["Instance ID", "Name", versioned && "Version", "Status", "Created", "Updated"].filter(Boolean);
  list.replaceChildren(
    rows.length
      ? h("table", {}, h("thead", {}, h("tr", {}, headings.map((t) => h("th", {}, t)))), h("tbody", {}, rows))
      : h("div", { className: "empty" }, "No orchestration matches."),
    pager);
  if (state.autoRefresh) schedule(renderList);
}

// --- one instance ---------------------------------------------------------------------------------------------

function actionsPanel(id) {
  const path = `/instances/${encodeURIComponent(id)}`;
  const eventName = h("input", { name: "eventName", placeholder: "event name", size: 14 });
  const eventData = h("input", { name: "eventData", placeholder: "JSON data, e.g. {\"ok\": true}", size: 28 });
  const reason = h("input", { name: "reason", placeholder: "reason", size: 14 });
  const rewindReason = h("input", { name: "rewindReason", placeholder: "rewind reason", size: 14 });
  const refresh = () => renderInstance(id);
  const raise = () => {
    const name = eventName.value.trim();
    if (!name) return toast("Give the event a name", true);
    let body = eventData.value.trim();
    if (body) {
      try { JSON.parse(body); } catch (error) { return toast(`The event data is not JSON: ${error.message}`, true); }
    }
    return act(`Raised ${name}`, () => api(`${path}/raiseEvent/${encodeURIComponent(name)}`, { method: "POST", body: body || "null" })).then(refresh);
  };
  const post = (label, op, params = {}) => act(label, () => api(`${path}/${op}`, { method: "POST", params })).then(refresh);
  const restart = () => act("Restarted", async () => {
    const { data } = await api(`${path}/restart`, { method: "POST" });
    location.hash = `#/instance/${encodeURIComponent(data)}`;
  });
  const purge = () => act("Purged", async () => {
    await api(path, { method: "DELETE" });
    location.hash = "#/";
  });
  return h("div", { className: "panel actions", id: "actions" },
    h("span", { className: "group" }, eventName, eventData, h("button", { onclick: raise, "data-action": "raise" }, "Raise event")),
    h("span", { className: "group" },
      h("button", { onclick: () => post("Suspended", "suspend"), "data-action": "suspend" }, "Suspend"),
      h("button", { onclick: () => post("Resumed", "resume"), "data-action": "resume" }, "Resume")),
    h("span", { className: "group" }, reason,
      h("button", { className: "danger", onclick: () => post("Terminated", "terminate", { reason: reason.value.trim() }), "data-action": "terminate" }, "Terminate")),
    // Shown once the instance is known to have failed (renderInstance): its failed work runs again.
    h("span", { className: "group", id: "rewind", hidden: true }, rewindReason,
      h("button", { className: "primary", onclick: () => post("Rewound", "rewind", { reason: rewindReason.value.trim() }), "data-action": "rewind" }, "Rewind")),
    h("button", { onclick: restart, "data-action": "restart" }, "Restart"),
    h("button", { className: "danger", onclick: purge, "data-action": "purge" }, "Purge"),
  );
}

// A custom status with a pending approval that names the event to raise gets approve/deny buttons.
function approvalPanel(id, status) {
  const custom = unwrap(status.customStatus);
  const pending = custom && custom.pending_approval;
  if (!pending || !pending.event || FINISHED.has(status.runtimeStatus)) return null;
  const decide = (approved) => act(approved ? "Approved" : "Denied", () => api(
    `/instances/${encodeURIComponent(id)}/raiseEvent/${encodeURIComponent(pending.event)}`,
    { method: "POST", body: JSON.stringify({ approved, comment: "from the devhost dashboard" }) },
  )).then(() => renderInstance(id));
  return h("div", { className: "panel approval", id: "approval" },
    h("strong", {}, `Waiting for approval: ${pending.tool || pending.event}`),
    pending.arguments !== undefined ? json(pending.arguments) : null,
    pending.expires_at ? h("div", { className: "meta" }, `expires ${when(pending.expires_at)}`) : null,
    h("div", { className: "actions" },
      h("button", { className: "primary", onclick: () => decide(true), "data-action": "approve" }, "Approve"),
      h("button", { className: "danger", onclick: () => decide(false), "data-action": "deny" }, "Deny")));
}

// A sub-orchestration is named by its function and its instance ID, and links to its own view.
function spanLabel(span) {
  if (!span.instanceId) return span.name;
  return h("a", { href: `#/instance/${encodeURIComponent(span.instanceId)}`, title: `${span.name} ${span.instanceId}` },
    span.name, h("span", { className: "iid mono" }, span.instanceId));
}

// What a span was given and what came of it, under its row; a click on the row opens or closes it.
function spanDetail(span) {
  const outcome = span.failure !== undefined ? ["Failure", h("pre", { className: "mono" }, text(span.failure))]
    : span.result !== undefined ? ["Result", json(span.result)]
      : span.fireAt ? ["Fires at", h("pre", { className: "mono" }, span.fireAt)] : null;
  return h("div", { className: "tl-detail", "data-span": span.id, hidden: !state.openSpans.has(span.id) },
    h("div", {}, h("div", { className: "meta" }, "Input"), json(span.input)),
    outcome ? h("div", {}, h("div", { className: "meta" }, outcome[0]), outcome[1]) : null);
}

function toggleSpan(id) {
  const detail = document.querySelector(`#timeline .tl-detail[data-span="${id}"]`);
  if (state.openSpans.delete(id)) detail.hidden = true;
  else {
    state.openSpans.add(id);
    detail.hidden = false;
  }
}

function timelineView(tl) {
  if (!tl.spans.length && !tl.marks.length) return h("div", { className: "empty" }, "No history yet.");
  const running = !FINISHED.has(tl.runtimeStatus);
  const t0 = Date.parse(tl.start);
  const t1 = Math.max(Date.parse(tl.end), running ? Date.now() : 0, t0 + 1);
  const pos = (t) => `${(((t - t0) / (t1 - t0)) * 100).toFixed(3)}%`;
  const rows = tl.spans.flatMap((span) => {
    const start = Date.parse(span.start);
    const end = span.end ? Date.parse(span.end) : (running ? Date.now() : t1);
    const kindClass = span.kind === "timer" ? "timer" : span.kind === "sub-orchestration" ? "sub" : "";
    const detail = span.failure || (span.result !== undefined ? pretty(span.result) : span.fireAt ? `fires at ${span.fireAt}` : span.status);
    const row = h("div", {
      className: "tl-row", "data-kind": span.kind, "data-status": span.status, title: detail, onclick: () => toggleSpan(span.id),
    },
      h("div", { className: "tl-label" }, h("span", { className: "kind" }, span.kind), spanLabel(span),
        span.attempt ? h("span", { className: "meta" }, ` (attempt ${span.attempt})`) : null),
      h("div", { className: "tl-track" },
        h("div", { className: `tl-bar ${span.status} ${kindClass}`, style: `left:${pos(start)};width:calc(${pos(end)} - ${pos(start)})` })),
      h("div", { className: "tl-dur" }, span.end ? duration(end - start) : span.status));
    return [row, spanDetail(span)];
  });
  const marks = h("div", { className: "tl-row", "data-kind": "marks" },
    h("div", { className: "tl-label" }, h("span", { className: "kind" }, "events")),
    h("div", { className: "tl-track" }, tl.marks.map((m) => h("div", {
      className: "tl-mark", style: `left:${pos(Date.parse(m.time))}`, title: `${m.kind}${m.name ? ": " + m.name : ""}`,
    }))),
    h("div", { className: "tl-dur" }, duration(t1 - t0)));
  const markList = h("table", { className: "marks" },
    h("tbody", {}, tl.marks.map((m) => h("tr", {},
      h("td", { className: "meta" }, when(m.time)), h("td", {}, m.kind),
      h("td", { className: "mono" }, m.name || ""),
      h("td", { className: "mono" }, m.target || (m.data !== undefined && m.data !== null ? textOrJson(m.data) : text(m.reason || "")))))));
  return h("div", { className: "timeline" },
    h("div", { className: "tl-axis" }, h("span", {}, when(tl.start)), h("span", {}, running ? "now" : when(tl.end))),
    rows, marks, h("h2", {}, "Events"), markList);
}

async function renderInstance(id) {
  stopPolling();
  const ticket = ++state.render;
  const view = document.getElementById("view");
  if (view.dataset.instance !== id) {
    view.replaceChildren(h("h1", {}, id), actionsPanel(id), h("div", { id: "details" }, "Loading…"));
    view.dataset.instance = id;
  }
  const details = document.getElementById("details");
  let status, tl;
  try {
    const path = `/instances/${encodeURIComponent(id)}`;
    [status, tl] = await Promise.all([
      api(path, { params: { showInput: "true" } }).then((r) => r.data),
      api(`${path}/timeline`).then((r) => r.data),
    ]);
  } catch (error) {
    if (ticket === state.render) details.replaceChildren(h("div", { className: "panel empty" }, `Could not load ${id}: ${error.message}`));
    return;
  }
  if (ticket !== state.render) return;
  const failed = status.runtimeStatus === "Failed";
  const failure = isJsonText(status.output) || typeof status.output !== "string" ? json(status.output)
    : h("pre", { className: "mono" }, status.output);
  document.getElementById("rewind").hidden = !failed;
  details.replaceChildren(...[
    h("div", { className: "panel" },
      h("div", { className: "actions" }, badge(status.runtimeStatus), h("strong", {}, status.name),
        status.version !== undefined ? h("span", { className: "version mono", id: "version" }, `version ${status.version}`) : null,
        h("span", { className: "meta" }, `created ${when(status.createdTime)} · updated ${when(status.lastUpdatedTime)}`))),
    approvalPanel(id, status),
    failed ? h("div", { className: "panel failure", id: "failure" }, h("h2", {}, "Failure"), failure) : null,
    h("div", { className: "grid" },
      h("div", { className: "panel", id: "input" }, h("h2", {}, "Input"), json(status.input)),
      h("div", { className: "panel", id: "output" }, h("h2", {}, "Output"),
        failed ? h("div", { className: "meta" }, "None: it failed (the failure is above).") : json(status.output)),
      h("div", { className: "panel", id: "custom-status" }, h("h2", {}, "Custom status"), json(status.customStatus))),
    h("div", { className: "panel", id: "timeline" }, h("h2", {}, "Timeline"), timelineView(tl)),
  ].filter(Boolean));
  if (!FINISHED.has(status.runtimeStatus)) schedule(() => renderInstance(id));
}

// --- entities -------------------------------------------------------------------------------------------------

function entityFailure(failure) {
  if (!failure) return null;
  return h("div", { className: "failure" },
    h("div", {}, h("span", { className: "badge failed" }, "failed"), " ", h("strong", { className: "mono" }, failure.operation)),
    h("pre", { className: "mono" }, text(failure.message)),
    h("div", { className: "meta" }, when(failure.time)));
}

async function renderEntities() {
  stopPolling();
  const ticket = ++state.render;
  const view = document.getElementById("view");
  let entities;
  try {
    entities = (await api("/entities")).data;
  } catch (error) {
    if (ticket === state.render) view.replaceChildren(h("h1", {}, "Entities"), h("div", { className: "panel empty" }, error.message));
    return;
  }
  if (ticket !== state.render) return;
  const failures = entities.some((e) => e.lastFailure);
  const headings = ["Name", "Key", "Last operation", "State", failures && "Last failed operation"].filter(Boolean);
  view.replaceChildren(h("h1", {}, "Entities"), h("div", { className: "panel" }, entities.length
    ? h("table", {}, h("thead", {}, h("tr", {}, headings.map((t) => h("th", {}, t)))),
      h("tbody", {}, entities.map((e) => h("tr", { "data-entity": `@${e.name}@${e.key}`, "data-exists": String(Boolean(e.exists)) },
        h("td", {}, e.name), h("td", { className: "mono" }, e.key), h("td", {}, when(e.lastOperationTime)),
        h("td", {}, !e.exists ? h("span", { className: "meta" }, "does not exist (no state)") : json(e.state)),
        failures ? h("td", { className: "entity-failure" }, entityFailure(e.lastFailure)) : null))))
    : h("div", { className: "empty" }, "No entities in this task hub.")));
  schedule(renderEntities);
}

// --- routing --------------------------------------------------------------------------------------------------

function route() {
  const hash = location.hash || "#/";
  const view = document.getElementById("view");
  const instance = hash.match(/^#\/instance\/(.+)$/);
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", link.dataset.tab === (hash.startsWith("#/entities") ? "entities" : "instances"));
  }
  delete view.dataset.instance;
  state.openSpans.clear();
  view.replaceChildren();
  if (instance) return renderInstance(decodeURIComponent(instance[1]));
  if (hash.startsWith("#/entities")) return renderEntities();
  return renderList();
}

document.getElementById("hub").addEventListener("change", (event) => {
  state.hub = event.target.value;
  state.pages = [""];
  location.hash = "#/";
  route();
});
window.addEventListener("hashchange", route);
loadHubs().catch((error) => toast(`Could not list task hubs: ${error.message}`, true)).finally(route);
