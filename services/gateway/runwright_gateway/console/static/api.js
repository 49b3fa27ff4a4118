// Talking to the gateway: the session cookie authenticates every call (same origin) and names
// the workspace the person picked.

export class ApiError extends Error {
  constructor(status, problem, headers = null) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    // e.g. Retry-After on a 429
    this.retryAfter = headers ? headers.get("Retry-After") : null;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

// The workspace picked in the header's switcher is kept with the console session on the server,
// so every request the page makes acts there, including those the browser makes by itself
// (EventSource streams, images and videos, download links), which could not carry a header.
// Other tabs of this browser share the session: they are told to redraw in the new workspace.
const tabs = "BroadcastChannel" in window ? new BroadcastChannel("runwright.workspace") : null;

export function onWorkspaceSwitched(handler) {
  tabs?.addEventListener("message", () => handler());
}

export async function switchWorkspace(slug) {
  const answer = await api("/console/session", { method: "PATCH", body: { workspace: slug } });
  tabs?.postMessage(answer.workspace);
  return answer;
}

export async function api(path, { method = "GET", body, headers: extra = {} } = {}) {
  const headers = { Accept: "application/json", ...extra };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    onUnauthorized();
    throw new ApiError(401, null);
  }
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      problem = null;
    }
    throw new ApiError(response.status, problem, response.headers);
  }
  if (response.status === 204) return null;
  return response.json();
}

export async function sessionState() {
  const response = await fetch("/console/session", { credentials: "same-origin" });
  if (!response.ok) return false;
  return (await response.json()).signed_in === true;
}

// `credentials`: { email, password } or { token }. Answers { ok, status, retryAfter }.
export async function signIn(credentials) {
  const response = await fetch("/console/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(credentials),
  });
  return { ok: response.status === 204, status: response.status, retryAfter: response.headers.get("Retry-After") };
}

export async function signOut() {
  await fetch("/console/session", { method: "DELETE", credentials: "same-origin" });
}
