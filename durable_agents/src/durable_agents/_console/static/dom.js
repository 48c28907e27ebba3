// Building the page: every piece of text goes in as a text node, never as HTML, so model output, tool results and
// anything else from the API cannot inject markup.

import { dashboardUrl, devhostDashboard } from "./api.js";

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  // Children may come in nested arrays (a list of parts inside a list of children).
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Replace a node's content; absent parts (null, undefined, false) are left out.
export function show(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false));
}

export const link = (href, ...children) => h("a", { href }, ...children);
export const runLink = (id) => link(`#/run/${encodeURIComponent(id)}`, h("code", {}, id));
export const sessionLink = (agent, id) =>
  link(`#/session/${encodeURIComponent(agent)}/${encodeURIComponent(id)}`, h("code", {}, id));
export const badge = (status) => h("span", { className: `badge ${status}` }, status.replace("_", " "));

// An element that becomes a link to the instance in devhost's dashboard once the page knows it runs there.
export function dashboardLink(instanceId) {
  const slot = h("span", { className: "devhost-link" });
  devhostDashboard().then((dashboard) => {
    if (!dashboard) return;
    const title = dashboard.key ? `${instanceId} in devhost's dashboard`
      : "devhost's dashboard needs the master key: add ?code=MASTER_KEY to its address";
    slot.append(h("a", { href: dashboardUrl(instanceId, dashboard.key), target: "_blank", rel: "noopener", title },
      "devhost dashboard"));
  });
  return slot;
}

export function time(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

export const tokens = (usage) => (usage && usage.total_tokens ? `${usage.total_tokens} tokens` : "");

export function usageTitle(usage) {
  return usage ? `prompt ${usage.prompt_tokens ?? 0}, completion ${usage.completion_tokens ?? 0}` : null;
}

// JSON text (tool arguments, say) shown as indented JSON; anything else as it is.
export function pretty(value) {
  let parsed = value;
  if (typeof value === "string") {
    try { parsed = JSON.parse(value); } catch { return value; }
  }
  return typeof parsed === "string" ? parsed : JSON.stringify(parsed, null, 2);
}

export function facts(pairs) {
  return h("dl", { className: "facts" },
    pairs.filter(([, value]) => value !== null && value !== undefined && value !== "")
      .map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))));
}

export function table(headings, rows, empty) {
  if (!rows.length) return h("p", { className: "muted empty" }, empty);
  return h("table", {},
    h("thead", {}, h("tr", {}, headings.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows));
}

export function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}
