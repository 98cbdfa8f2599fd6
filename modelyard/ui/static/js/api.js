// The JSON gateway, as the UI calls it: POST /api/<service>/<method> with a JSON body.
// int64 fields arrive as strings (protobuf's JSON mapping); num() turns them into numbers.

export const TRACKING = "modelyard.v1.TrackingService";
export const REGISTRY = "modelyard.v1.ModelRegistryService";
export const ARTIFACTS = "modelyard.v1.ArtifactService";

const CSRF_COOKIE = "modelyard_csrf";

/** An error answer of the gateway: HTTP status, gRPC status name, message, reason, details. */
export class ApiError extends Error {
  constructor(httpStatus, status, message, reason, metadata) {
    super(message);
    this.httpStatus = httpStatus;
    this.status = status;
    this.reason = reason || status;
    this.metadata = metadata || {};
  }
}

/** The CSRF token the shell page set, echoed on every state-changing request. */
export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) return rest.join("=");
  }
  return "";
}

async function errorOf(response) {
  let body = null;
  try { body = await response.json(); } catch (_) { /* not JSON */ }
  const err = body && body.error;
  if (err) {
    const info = (err.details || []).find((d) => d.reason) || {};
    return new ApiError(response.status, err.status, err.message, info.reason, info.metadata);
  }
  return new ApiError(response.status, "UNKNOWN", `HTTP ${response.status} ${response.statusText}`);
}

/** Call one RPC; resolves to the response object, rejects with ApiError. */
export async function call(service, method, body = {}, { signal } = {}) {
  const response = await fetch(`/api/${service}/${method}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
    body: JSON.stringify(body),
    credentials: "same-origin",
    signal,
  });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

export const tracking = (method, body, opts) => call(TRACKING, method, body, opts);
export const registry = (method, body, opts) => call(REGISTRY, method, body, opts);
export const artifacts = (method, body, opts) => call(ARTIFACTS, method, body, opts);

/** A number from a JSON int64 (string) or number; undefined stays undefined. */
export function num(value) {
  return value === undefined || value === null ? undefined : Number(value);
}

/** The URL of a file of the server's artifact destination (each segment encoded). */
export function fileUrl(path) {
  return "/files/" + path.split("/").map(encodeURIComponent).join("/");
}

/** Fetch the first `limit` bytes of a destination file: {bytes, size, truncated}. */
export async function fetchHead(path, limit) {
  const response = await fetch(fileUrl(path), {
    headers: { Range: `bytes=0-${limit - 1}` },
    credentials: "same-origin",
  });
  if (!response.ok && response.status !== 206) throw await errorOf(response);
  const bytes = new Uint8Array(await response.arrayBuffer());
  let size = bytes.length;
  const range = response.headers.get("Content-Range");
  if (range && range.includes("/")) size = Number(range.split("/")[1]);
  return { bytes, size, truncated: size > bytes.length };
}

/** Upload a File/Blob to a destination path (PUT /files/<path>); resolves to {path, size, sha256}. */
export async function uploadFile(path, blob) {
  const response = await fetch(fileUrl(path), {
    method: "PUT",
    headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": csrfToken() },
    body: blob,
    credentials: "same-origin",
  });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

/**
 * The destination-relative folder of a run's artifacts, when the run's files go through
 * this server ("modelyard-artifacts:/<exp>/<run>/artifacts"); null for any other location.
 */
export function proxiedRoot(artifactUri) {
  const match = /^modelyard-artifacts:\/(?!\/)(.*)$/.exec(artifactUri || "");
  return match ? match[1].replace(/^\/+|\/+$/g, "") : null;
}
