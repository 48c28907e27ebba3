// The agent console: plain JavaScript modules, no framework, nothing fetched but this app's own API. Each view is
// a hash route; leaving a view aborts what it was following (streams, polling).

import { api } from "./api.js";
import { chatView } from "./chat.js";
import { h, toast } from "./dom.js";
import { agentsView, runsView, runView, sessionsView, sessionView, workflowsView, workflowView } from "./views.js";

const ROUTES = [
  [/^#\/?$/, "agents", agentsView],
  [/^#\/chat\/([^/?]+)(?:\/([^/?]+))?$/, "agents", chatView],
  [/^#\/sessions(?:\/([^/?]+))?$/, "sessions", sessionsView],
  [/^#\/session\/([^/?]+)\/([^/?]+)$/, "sessions", sessionView],
  [/^#\/runs(?:\?.*)?$/, "runs", runsView],
  [/^#\/run\/([^/?]+)$/, "runs", runView],
  [/^#\/workflows$/, "workflows", workflowsView],
  [/^#\/workflow\/([^/?]+)$/, "workflows", workflowView],
];

let current = null;

async function route() {
  current?.abort();
  current = new AbortController();
  const { signal } = current;
  const main = document.getElementById("main");
  const hash = location.hash || "#/";
  const found = ROUTES.map(([pattern, tab, view]) => [hash.match(pattern), tab, view]).find(([match]) => match);
  for (const tab of document.querySelectorAll("nav [data-tab]")) {
    if (found && tab.dataset.tab === found[1]) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  if (!found) {
    main.replaceChildren(h("p", { className: "error" }, `Nothing here: ${hash}`), h("a", { href: "#/" }, "Agents"));
    return;
  }
  const [match, , view] = found;
  main.replaceChildren(h("p", { className: "muted" }, "Loading…"));
  try {
    await view(main, signal, ...match.slice(1).map((part) => (part === undefined ? undefined : decodeURIComponent(part))));
  } catch (error) {
    if (signal.aborted) return;
    main.replaceChildren(h("p", { className: "error" }, error.code ? `${error.code}: ${error.message}` : error.message));
    if (error.status === 401) toast("The API needs the function key: open the console as …/console?code=KEY");
  }
}

async function health() {
  const box = document.getElementById("health");
  try {
    const data = await api("health");
    box.dataset.status = data.status;
    box.title = [data.model.label ?? data.model.error, data.model.endpoint].filter(Boolean).join(" · ");
    box.replaceChildren(h("span", { className: "dot", "aria-hidden": "true" }),
      `model: ${data.model.kind === "offline" ? "offline (devhost)" : data.model.model ?? data.model.kind} · streams: ${data.streams.kind}`);
  } catch (error) {
    box.dataset.status = "degraded";
    box.textContent = `health: ${error.message}`;
  }
}

window.addEventListener("hashchange", route);
route();
health();
