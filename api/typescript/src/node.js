// The package's entry under Node: the client and the Standard Webhooks
// verifier (which needs node:crypto, so browsers get index.js alone).
export * from "./index.js";
export { DEFAULT_TOLERANCE_SECONDS, WebhookVerificationError, verifyWebhook } from "./webhooks.js";
