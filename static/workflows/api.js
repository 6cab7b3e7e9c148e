// The API as the workflow pages call it: the session's cookie, the workspace header, the CSRF token on
// writes. A refusal throws an ApiError carrying the API's message and its details by field path.

export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `Request failed (${status}).`);
    this.status = status;
    this.details = error.details || {};
  }
}

export async function api(config, method, path, body) {
  const headers = { "X-Workspace": String(config.workspace), Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = config.csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(config.api + path, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { message: "Network error: check your connection and try again." });
  }
  if (response.ok) return response.status === 204 ? null : response.json();
  let error = {};
  try {
    error = (await response.json()).error || {};
  } catch {
    error = {};
  }
  if (response.status >= 500) error.message = "Something went wrong on our side. Try again in a moment.";
  throw new ApiError(response.status, error);
}

export const apiGet = (config, path) => api(config, "GET", path);
