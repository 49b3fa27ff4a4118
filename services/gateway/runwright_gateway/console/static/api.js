// Talking to the gateway: the session cookie authenticates every call (same origin).

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

export async function signIn(token) {
  const response = await fetch("/console/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ token }),
  });
  return response.status === 204;
}

export async function signOut() {
  await fetch("/console/session", { method: "DELETE", credentials: "same-origin" });
}
