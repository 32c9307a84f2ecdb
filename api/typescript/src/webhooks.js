// Standard Webhooks (https://www.standardwebhooks.com) signature
// verification for Node, with node:crypto only. LeadPilot signs every
// webhook it sends with the endpoint's secret:
//
//   webhook-id:        the message id (the same on every redelivery)
//   webhook-timestamp: Unix seconds when this attempt was signed
//   webhook-signature: space-separated "v1,<base64 HMAC-SHA256>" entries of
//                      id + "." + timestamp + "." + body, keyed with the
//                      base64-decoded secret after its "whsec_" prefix;
//                      several during a secret rotation.
import { createHmac, timingSafeEqual } from "node:crypto";

/** Seconds a webhook's timestamp may be away from the receiver's clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

const SECRET_PREFIX = "whsec_";

/**
 * Why a webhook was refused. `code` is one of missing_headers,
 * invalid_timestamp, timestamp_too_old, timestamp_too_new,
 * no_matching_signature, invalid_payload.
 */
export class WebhookVerificationError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = "WebhookVerificationError";
    this.code = code;
  }
}

/**
 * Checks a webhook's signature and timestamp and returns its parsed body.
 * Pass the body exactly as received (before any JSON parsing).
 *
 * @param {string | string[]} secret the endpoint's secret ("whsec_…"); during
 *   a rotation, the new and the old one
 * @param {Headers | Record<string, string | string[] | undefined>} headers
 * @param {string | Uint8Array} rawBody
 * @param {{ tolerance?: number, now?: Date | number }} [options] tolerance in
 *   seconds (default 300); now as a Date or epoch milliseconds (default: the clock)
 * @returns {any} the parsed event
 */
export function verifyWebhook(secret, headers, rawBody, options = {}) {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new TypeError("verifyWebhook: tolerance must be a number of seconds, 0 or more");
  }
  const nowMs = options.now === undefined ? Date.now() : +options.now;
  if (!Number.isFinite(nowMs)) {
    throw new TypeError("verifyWebhook: now must be a Date or epoch milliseconds");
  }
  const keys = (Array.isArray(secret) ? secret : [secret]).map(decodeSecret);
  if (keys.length === 0) {
    throw new TypeError("verifyWebhook: no secret given");
  }

  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signature = header(headers, "webhook-signature");
  if (!id || !timestamp || !signature) {
    throw new WebhookVerificationError(
      "missing_headers",
      "webhook-id, webhook-timestamp and webhook-signature are required",
    );
  }
  if (!/^\d{1,15}$/.test(timestamp)) {
    throw new WebhookVerificationError("invalid_timestamp", "webhook-timestamp is not Unix seconds");
  }
  const ts = Number(timestamp);
  const nowSeconds = Math.floor(nowMs / 1000);
  if (ts < nowSeconds - tolerance) {
    throw new WebhookVerificationError("timestamp_too_old", "webhook-timestamp is too old");
  }
  if (ts > nowSeconds + tolerance) {
    throw new WebhookVerificationError("timestamp_too_new", "webhook-timestamp is in the future");
  }

  const body = typeof rawBody === "string" ? Buffer.from(rawBody, "utf8") : rawBody;
  if (!(body instanceof Uint8Array)) {
    throw new TypeError("verifyWebhook: rawBody must be the body as received (a string or bytes), not parsed JSON");
  }
  const passed = signature
    .split(" ")
    .map((s) => s.split(","))
    .filter((p) => p.length === 2 && p[0] === "v1")
    .map((p) => Buffer.from(p[1], "utf8"));
  let ok = false;
  for (const key of keys) {
    const expected = Buffer.from(
      createHmac("sha256", key).update(`${id}.${timestamp}.`, "utf8").update(body).digest("base64"),
      "utf8",
    );
    for (const sig of passed) {
      // Compare every candidate (no early exit) in constant time per pair.
      if (sig.length === expected.length && timingSafeEqual(sig, expected)) {
        ok = true;
      }
    }
  }
  if (!ok) {
    throw new WebhookVerificationError("no_matching_signature", "no webhook-signature matches the secret");
  }
  try {
    return JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    throw new WebhookVerificationError("invalid_payload", "the signed body is not JSON");
  }
}

/** @param {string} secret */
function decodeSecret(secret) {
  if (typeof secret !== "string" || secret === "") {
    throw new TypeError("verifyWebhook: the secret must be a non-empty string (whsec_…)");
  }
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new TypeError("verifyWebhook: the secret is not base64 after its whsec_ prefix");
  }
  const key = Buffer.from(b64, "base64");
  if (key.length === 0) {
    throw new TypeError("verifyWebhook: the secret is empty");
  }
  return key;
}

/**
 * A header's value from a fetch Headers, Node's IncomingHttpHeaders (lower-case
 * keys, arrays for repeated headers) or a plain object in any case.
 * @param {Headers | Record<string, string | string[] | undefined>} headers
 * @param {string} name lower-case
 * @returns {string | undefined}
 */
function header(headers, name) {
  if (headers == null) return undefined;
  if (typeof headers.get === "function") {
    return headers.get(name) ?? undefined;
  }
  let v = headers[name];
  if (v === undefined) {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
    v = key === undefined ? undefined : headers[key];
  }
  if (Array.isArray(v)) return v.join(" ");
  return v === undefined || v === null ? undefined : String(v);
}
