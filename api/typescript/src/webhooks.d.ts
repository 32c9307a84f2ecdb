/** Seconds a webhook's timestamp may be away from the receiver's clock (300). */
export declare const DEFAULT_TOLERANCE_SECONDS: number;

/** Why a webhook was refused. */
export declare class WebhookVerificationError extends Error {
  constructor(code: WebhookVerificationErrorCode, message: string);
  readonly code: WebhookVerificationErrorCode;
}

export type WebhookVerificationErrorCode =
  | "missing_headers"
  | "invalid_timestamp"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "no_matching_signature"
  | "invalid_payload";

/**
 * A LeadPilot webhook body (the same item `GET /v1/events` lists): `data` is
 * the object as the API returns it, when the event happened.
 */
export interface WebhookEvent<Data = unknown> {
  /** The event's id. */
  id: string;
  /** e.g. `lead.created`, `import.completed`. */
  type: string;
  /** When the event happened (RFC 3339, UTC). */
  timestamp: string;
  /** e.g. `lead`, `lead_import`. */
  object_type: string;
  object_id: string | null;
  data: Data;
}

export interface VerifyWebhookOptions {
  /** Seconds the timestamp may be away from `now` (default 300). */
  tolerance?: number;
  /** The receiver's clock (default: now). */
  now?: Date | number;
}

/**
 * Checks a Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`) and the timestamp, then returns the parsed body.
 * `rawBody` must be the body exactly as received. Several secrets (during a
 * rotation) and several `v1,` signatures are accepted; any match passes.
 *
 * @throws {WebhookVerificationError} when the webhook is not genuine or stale
 */
export declare function verifyWebhook<Data = unknown>(
  secret: string | readonly string[],
  headers: Headers | Record<string, string | string[] | undefined>,
  rawBody: string | Uint8Array,
  options?: VerifyWebhookOptions,
): WebhookEvent<Data>;
