// The app's API, addressed relative to this file (served at <prefix>/console/api.js, so any route prefix works),
// with the page's function key on every call: the page is opened as .../console?code=KEY where keys are enforced.

export const API = new URL("../", import.meta.url);
const KEY = new URLSearchParams(location.search).get("code");
const FINAL = new Set(["done", "error"]);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function withKey(headers = {}) {
  return KEY ? { ...headers, "x-functions-key": KEY } : headers;
}

async function failure(response) {
  const text = await response.text();
  let error = null;
  try { error = JSON.parse(text).error; } catch { /* not the API's error shape */ }
  return new ApiError(response.status, error?.code ?? "HttpError",
    error?.message ?? `${response.status} ${response.statusText}`);
}

export async function api(path, { method = "GET", body, headers = {}, params = {} } = {}) {
  const url = new URL(path, API);
  for (const [name, value] of Object.entries(params)) if (value) url.searchParams.set(name, value);
  const sent = withKey(headers);
  if (body !== undefined) sent["content-type"] = "application/json";
  const response = await fetch(url, {
    method, headers: sent, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

// Random hex from getRandomValues, which (unlike randomUUID) also works on a plain-http address other than localhost.
export function newId(bytes = 16) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// A POST that creates work (a run, a decision, a workflow, an event) carries an Idempotency-Key and is sent again
// with the same key while the connection fails, so a retry never makes a second one.
export async function submit(path, body, attempts = 4) {
  const headers = { "Idempotency-Key": newId() };
  for (let attempt = 1; ; attempt++) {
    try {
      return await api(path, { method: "POST", body, headers });
    } catch (error) {
      if (error instanceof ApiError || attempt >= attempts) throw error;
      await sleep(250 * attempt);
    }
  }
}

async function* messages(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let id = null;
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end).replace(/\r$/, "");
        buffer = buffer.slice(end + 1);
        if (line === "") {
          if (data.length) yield { id, data: data.join("\n") };
          id = null;
          data = [];
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "id") id = text;
          else if (field === "data") data.push(text);
        }
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

// Follow a run's stream to its final event, calling onEvent for each. It reads Server-Sent Events through fetch,
// not EventSource, which cannot send the key header; after a dropped connection it resumes from the last cursor
// (Last-Event-ID), so no event is lost or repeated.
export async function follow(runId, onEvent, signal) {
  let cursor = null;
  for (let failures = 0; ; failures++) {
    const headers = withKey({ accept: "text/event-stream" });
    if (cursor) headers["last-event-id"] = cursor;
    try {
      const response = await fetch(new URL(`runs/${encodeURIComponent(runId)}/stream`, API),
        { headers, signal, cache: "no-store" });
      if (!response.ok) throw await failure(response);
      for await (const message of messages(response.body)) {
        failures = 0;
        cursor = message.id ?? cursor;
        const event = JSON.parse(message.data);
        onEvent(event);
        if (FINAL.has(event.type)) return event;
      }
    } catch (error) {
      if (signal?.aborted || (error instanceof ApiError && error.status < 500)) throw error;
    }
    await sleep(Math.min(200 * (failures + 1), 2000));
  }
}

// The app's agents and their tools: definitions are code, so one read per page load.
let catalogue = null;
export function agents() {
  catalogue ??= api("agents").then((data) => data.agents, (error) => { catalogue = null; throw error; });
  return catalogue;
}

// devhost serves its dashboard on the app's own origin; where there is none (Azure), no link to it is shown. Its
// API needs the master key where keys are enforced, so the link carries the page's key only when that key opens it.
let devhost = null;
export function devhostDashboard() {
  devhost ??= fetch("/devhost/api/hubs", { headers: withKey(), cache: "no-store" })
    .then(async (r) => {
      const body = await r.json();
      if (r.ok && Array.isArray(body.hubs)) return { key: true };
      return r.status === 401 && body.error?.code === "Unauthorized" ? { key: false } : null;
    })
    .catch(() => null);
  return devhost;
}

export function dashboardUrl(instanceId, passKey) {
  const url = new URL("/devhost/", location.origin);
  if (KEY && passKey) url.searchParams.set("code", KEY);
  url.hash = `#/instance/${encodeURIComponent(instanceId)}`;
  return url.href;
}
