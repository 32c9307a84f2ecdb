// @leadpilot/sdk: a typed LeadPilot API client (openapi-fetch over the types
// openapi-typescript generates from openapi.yaml into schema.d.ts). This
// entry runs anywhere fetch does (browsers included); under Node the
// package's entry is node.js, which adds the webhook verifier (node:crypto).
import createFetchClient from "openapi-fetch";

/**
 * An API answer that is not a success, with the RFC 9457 problem+json body's
 * fields: `status`, `code` (stable, machine-readable), `detail`,
 * `requestId` and, for validation failures, `errors` (a JSON pointer per field).
 */
export class ApiError extends Error {
  /**
   * @param {Response} response
   * @param {unknown} body the parsed error body (problem+json, or text)
   */
  constructor(response, body) {
    const problem = isProblem(body) ? body : undefined;
    const detail = problem?.detail || problem?.title || (typeof body === "string" && body) || response.statusText;
    super(`${response.status} ${problem?.code ?? "http_error"}: ${detail}`);
    this.name = "ApiError";
    this.status = response.status;
    this.code = problem?.code ?? "http_error";
    this.title = problem?.title ?? response.statusText;
    this.detail = problem?.detail ?? (typeof body === "string" ? body : "");
    this.requestId = problem?.request_id ?? response.headers.get("x-request-id") ?? undefined;
    this.errors = problem?.errors ?? [];
    this.problem = problem;
    this.response = response;
  }
}

/**
 * Whether value is a problem+json body as LeadPilot sends them.
 * @param {unknown} value
 */
export function isProblem(value) {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (/** @type {any} */ (value).status) === "number" &&
    typeof (/** @type {any} */ (value).code) === "string"
  );
}

/**
 * A client for the LeadPilot API. `token` is an API key (`lp_…`) or an
 * access token, sent as `Authorization: Bearer <token>`; pass a function to
 * supply a fresh access token per request (it may be async). Calls are
 * openapi-fetch's: `client.GET("/v1/leads", { params: { query: { limit: 10 } } })`
 * resolves to `{ data, error, response }`, with `error` the typed problem.
 * Wrap a call in `unwrap` to get the data or an `ApiError` thrown.
 *
 * @param {{ baseUrl: string, token?: string | (() => string | undefined | Promise<string | undefined>) } & Record<string, unknown>} options
 *   any other openapi-fetch option (headers, fetch, …) passes through
 */
export function createClient(options) {
  const { baseUrl, token, headers, ...rest } = options ?? {};
  if (typeof baseUrl !== "string" || baseUrl === "") {
    throw new TypeError("createClient: baseUrl is required, e.g. https://api.leadpilot.example");
  }
  /** @type {Record<string, string>} */
  const auth = typeof token === "string" && token !== "" ? { Authorization: `Bearer ${token}` } : {};
  const client = createFetchClient({
    ...rest,
    baseUrl: baseUrl.replace(/\/+$/, ""),
    headers: { Accept: "application/json, application/problem+json", ...auth, .../** @type {any} */ (headers) },
  });
  if (typeof token === "function") {
    client.use({
      async onRequest({ request }) {
        const t = await token();
        if (t) request.headers.set("Authorization", `Bearer ${t}`);
        return request;
      },
    });
  }
  return client;
}

/**
 * Awaits an openapi-fetch call and returns its data, or throws an ApiError
 * carrying the problem+json body.
 * @param {Promise<{ data?: any, error?: any, response: Response }> | { data?: any, error?: any, response: Response }} call
 */
export async function unwrap(call) {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) {
    throw new ApiError(response, error);
  }
  return data;
}
