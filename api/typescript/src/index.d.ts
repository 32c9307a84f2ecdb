import type { Client, ClientOptions } from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";
/** Node only (node:crypto): under Node the package's entry adds the verifier; also at `@leadpilot/sdk/webhooks`. */
export * from "./webhooks.js";

/** The API's schemas by name, e.g. `Schemas["Lead"]`. */
export type Schemas = components["schemas"];
/** An RFC 9457 problem+json body as LeadPilot sends it. */
export type Problem = components["schemas"]["Problem"];
/** One field a validation failure names (a JSON pointer into the request). */
export type FieldError = components["schemas"]["FieldError"];

/** The typed client: `GET`, `POST`, `PATCH`, `PUT`, `DELETE`… by path. */
export type LeadPilotClient = Client<paths>;

export interface CreateClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /** The API's root, e.g. `https://api.leadpilot.example` (no `/v1`). */
  baseUrl: string;
  /**
   * An API key (`lp_…`) or an access token, sent as `Authorization: Bearer`;
   * or a function returning one (maybe async), called for every request.
   */
  token?: string | (() => string | undefined | Promise<string | undefined>);
}

/** A client for the LeadPilot API. */
export declare function createClient(options: CreateClientOptions): LeadPilotClient;

/** An API answer that is not a success, with its problem+json fields. */
export declare class ApiError extends Error {
  constructor(response: Response, body: unknown);
  /** The HTTP status. */
  readonly status: number;
  /** The problem's stable code (`validation_failed`, `not_found`, …); `http_error` without one. */
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  /** The request's id (X-Request-Id), for support. */
  readonly requestId: string | undefined;
  /** For validation failures: the fields in error. */
  readonly errors: FieldError[];
  /** The whole problem+json body, when there was one. */
  readonly problem: Problem | undefined;
  readonly response: Response;
}

/** Whether value is a problem+json body as LeadPilot sends them. */
export declare function isProblem(value: unknown): value is Problem;

/**
 * Awaits an openapi-fetch call and returns its data, or throws an
 * `ApiError` carrying the problem+json body.
 */
export declare function unwrap<T extends { data?: unknown; error?: unknown; response: Response }>(
  call: Promise<T> | T,
): Promise<Exclude<T["data"], undefined>>;
