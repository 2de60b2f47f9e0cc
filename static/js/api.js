// Fetch wrapper for the JSON API: sends X-CSRFToken (from <meta name="csrf-token">)
// on writes and turns the API's error shape {ok:false, error, errors, status}
// into an ApiError. Network failures become ApiError with status 0.

/** The CSRF token of the page. */
export function csrfToken() {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.getAttribute("content") : "";
}

/** An API failure: `status` 0 means the network failed; `body` is the parsed error shape when there is one. */
export class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

/** Send a request and return the parsed JSON body of a 2xx answer; throw ApiError otherwise. */
export async function request(method, url, body = undefined) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, "The server could not be reached: " + (err && err.message ? err.message : err));
  }
  let data = null;
  try { data = await resp.json(); } catch (_) { data = null; }
  if (!resp.ok || !data || data.ok === false) {
    const msg = data && data.error ? data.error : `HTTP ${resp.status}`;
    throw new ApiError(resp.status || 500, msg, data);
  }
  return data;
}

export const getJSON = (url) => request("GET", url);
export const postJSON = (url, body) => request("POST", url, body);
export const patchJSON = (url, body) => request("PATCH", url, body);
export const putJSON = (url, body) => request("PUT", url, body);
