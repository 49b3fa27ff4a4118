// Talking to the gateway: the session cookie authenticates every call (same origin), and the
// workspace the person picked rides along as X-Workspace (remembered in this browser).

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

const WORKSPACE_KEY = "runwright.workspace";

// The workspace picked in the header's switcher ("" when none: the gateway's default for the
// credential). Kept in localStorage so a reload, or another tab, acts in the same one.
export function chosenWorkspace() {
  try {
    return localStorage.getItem(WORKSPACE_KEY) || "";
  } catch {
    return "";
  }
}

export function chooseWorkspace(slug) {
  try {
    if (slug) localStorage.setItem(WORKSPACE_KEY, slug);
    else localStorage.removeItem(WORKSPACE_KEY);
  } catch {
    /* storage refused: this page still sends it until reloaded */
  }
}

function workspaceHeader() {
  const slug = chosenWorkspace();
  return slug ? { "X-Workspace": slug } : {};
}

export async function api(path, { method = "GET", body, headers: extra = {}, workspace = true } = {}) {
  const headers = { Accept: "application/json", ...(workspace ? workspaceHeader() : {}), ...extra };
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

// A download that must carry the workspace header (a plain link cannot): fetched, then saved
// from a blob under the name the gateway gave it.
export async function download(path, fallbackName) {
  const response = await fetch(path, { credentials: "same-origin", headers: workspaceHeader() });
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
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = disposition.match(/filename="([^"]+)"/)?.[1] || fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export async function signOut() {
  await fetch("/console/session", { method: "DELETE", credentials: "same-origin" });
}
