// verifyWebhook against the reference implementation (standardwebhooks on
// npm): what the reference signs verifies, anything tampered with does not.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";

import { Webhook } from "standardwebhooks";

import { verifyWebhook, WebhookVerificationError } from "@leadpilot/sdk";

const newSecret = () => "whsec_" + randomBytes(24).toString("base64");
const now = new Date("2026-11-28T12:00:00Z");
const nowSec = Math.floor(now.getTime() / 1000);
const body = JSON.stringify({
  id: "0193b0c2-1111-7000-8000-000000000001",
  type: "lead.created",
  timestamp: "2026-11-28T11:59:59.123456Z",
  object_type: "lead",
  object_id: "0193b0c2-2222-7000-8000-000000000002",
  data: { email: "zoë@example.com", first_name: "Zoë" },
});

/** Headers the reference library produces for body, signed at `at`. */
function signed(secret, payload = body, at = now, id = "msg_2Kx") {
  const sig = new Webhook(secret).sign(id, at, payload);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": sig,
  };
}

function refusal(code) {
  return (err) => err instanceof WebhookVerificationError && err.code === code;
}

describe("verifyWebhook", () => {
  it("accepts what the reference library signs and returns the event", () => {
    const secret = newSecret();
    const event = verifyWebhook(secret, signed(secret), body, { now });
    assert.equal(event.type, "lead.created");
    assert.equal(event.data.first_name, "Zoë");
    // bytes, a fetch Headers and headers in another case work the same
    const h = signed(secret);
    assert.deepEqual(verifyWebhook(secret, new Headers(h), Buffer.from(body), { now }), event);
    const upper = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toUpperCase(), v]));
    assert.deepEqual(verifyWebhook(secret, upper, new TextEncoder().encode(body), { now }), event);
  });

  it("agrees with the reference on what it signs with our secret format", () => {
    // The reference verifies a signature made by the reference: our reading
    // of the secret (base64 after whsec_) is the reference's.
    const secret = newSecret();
    const h = signed(secret, body, new Date());
    assert.doesNotThrow(() => new Webhook(secret).verify(body, h));
    assert.doesNotThrow(() => verifyWebhook(secret, h, body));
  });

  it("accepts any of several signatures (rotation) and either of two secrets", () => {
    const oldSecret = newSecret();
    const newOne = newSecret();
    const a = signed(oldSecret);
    const b = signed(newOne);
    const both = { ...a, "webhook-signature": `${b["webhook-signature"]} ${a["webhook-signature"]}` };
    assert.equal(verifyWebhook(newOne, both, body, { now }).type, "lead.created");
    assert.equal(verifyWebhook(oldSecret, both, body, { now }).type, "lead.created");
    // a receiver holding both secrets accepts a message signed with either
    assert.equal(verifyWebhook([newOne, oldSecret], a, body, { now }).type, "lead.created");
    // unknown versions and junk entries are skipped, not fatal
    const noisy = { ...a, "webhook-signature": `v2,abc junk ${a["webhook-signature"]}` };
    assert.equal(verifyWebhook(oldSecret, noisy, body, { now }).type, "lead.created");
    // a secret without its prefix is the same key
    assert.equal(verifyWebhook(oldSecret.slice("whsec_".length), a, body, { now }).type, "lead.created");
  });

  const tampering = [
    ["a changed body", (h, s) => [h, body.replace("lead.created", "lead.deleted"), s]],
    ["a body with one more space", (h, s) => [h, body + " ", s]],
    ["another id", (h, s) => [{ ...h, "webhook-id": "msg_other" }, body, s]],
    ["another timestamp", (h, s) => [{ ...h, "webhook-timestamp": String(nowSec - 1) }, body, s]],
    ["another secret", (h) => [h, body, newSecret()]],
    ["a v2 signature only", (h, s) => [{ ...h, "webhook-signature": h["webhook-signature"].replace("v1,", "v2,") }, body, s]],
    ["a truncated signature", (h, s) => [{ ...h, "webhook-signature": h["webhook-signature"].slice(0, -2) }, body, s]],
    ["a signature without its version", (h, s) => [{ ...h, "webhook-signature": h["webhook-signature"].slice(3) }, body, s]],
    ["an empty signature entry", (h, s) => [{ ...h, "webhook-signature": "v1," }, body, s]],
  ];
  for (const [name, tamper] of tampering) {
    it(`refuses ${name}`, () => {
      const secret = newSecret();
      const [h, b, s] = tamper(signed(secret), secret);
      assert.throws(() => verifyWebhook(s, h, b, { now }), refusal("no_matching_signature"));
      // and so does the reference, so the case really is a forgery
      assert.throws(() => new Webhook(s).verify(b, { ...h, "webhook-timestamp": String(Math.floor(Date.now() / 1000)) }));
    });
  }

  it("refuses stale and future timestamps, at the tolerance's edge", () => {
    const secret = newSecret();
    const at = (sec) => signed(secret, body, new Date((nowSec + sec) * 1000));
    assert.equal(verifyWebhook(secret, at(-300), body, { now }).type, "lead.created");
    assert.equal(verifyWebhook(secret, at(300), body, { now }).type, "lead.created");
    assert.throws(() => verifyWebhook(secret, at(-301), body, { now }), refusal("timestamp_too_old"));
    assert.throws(() => verifyWebhook(secret, at(301), body, { now }), refusal("timestamp_too_new"));
    assert.throws(() => verifyWebhook(secret, at(-61), body, { now, tolerance: 60 }), refusal("timestamp_too_old"));
    assert.equal(verifyWebhook(secret, at(-61), body, { now: now.getTime() - 1000, tolerance: 60 }).type, "lead.created");
  });

  it("refuses missing headers and malformed timestamps", () => {
    const secret = newSecret();
    const h = signed(secret);
    for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const { [name]: _, ...rest } = h;
      assert.throws(() => verifyWebhook(secret, rest, body, { now }), refusal("missing_headers"));
    }
    for (const ts of ["1.5", "-1", "0x10", " 1", "1e9", "abc"]) {
      assert.throws(() => verifyWebhook(secret, { ...h, "webhook-timestamp": ts }, body, { now }), refusal("invalid_timestamp"));
    }
  });

  it("refuses a signed body that is not JSON", () => {
    const secret = newSecret();
    assert.throws(() => verifyWebhook(secret, signed(secret, "not json"), "not json", { now }), refusal("invalid_payload"));
  });

  it("rejects misuse: parsed bodies and bad secrets", () => {
    const secret = newSecret();
    assert.throws(() => verifyWebhook(secret, signed(secret), JSON.parse(body), { now }), TypeError);
    assert.throws(() => verifyWebhook("whsec_not base64!", signed(secret), body, { now }), TypeError);
    assert.throws(() => verifyWebhook("", signed(secret), body, { now }), TypeError);
    assert.throws(() => verifyWebhook([], signed(secret), body, { now }), TypeError);
  });
});
