// A webhook from a live LeadPilot (test/server.js) to a receiver started
// here: subscribe an endpoint to lead.created through the SDK, create a
// lead, and verify the delivery's Standard Webhooks signature with
// verifyWebhook (and, independently, with the reference library).
//
// Needs POST /v1/webhook-endpoints and the delivery worker (issue 8's
// webhook work); the server may deliver to plain http on loopback only
// because of WEBHOOK_ALLOW_HTTP and WEBHOOK_ALLOW_CIDRS below.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";

import { Webhook } from "standardwebhooks";

import { createClient, unwrap, verifyWebhook, WebhookVerificationError } from "@leadpilot/sdk";

import { newOrgWithKey, startServer } from "./server.js";

// Redis database 15 belongs to this file (see the Makefile's test-ts).
const server = await startServer({
  redisDb: 15,
  env: { WEBHOOK_ALLOW_HTTP: "true", WEBHOOK_ALLOW_CIDRS: "127.0.0.0/8" },
});
after(() => server.stop());

/** A receiver that keeps every request it gets, body as raw bytes. */
async function startReceiver() {
  const received = [];
  const waiters = new Set();
  const http = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204).end();
      for (const w of waiters) w();
    });
  });
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${http.address().port}/hooks/leadpilot`,
    received,
    /** Resolves with the first request pred accepts; rejects after ms. */
    waitFor(pred, ms) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = received.find(pred);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching delivery in ${ms} ms; got ${received.length}:\n${server.log()}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise((r) => http.close(r)),
  };
}

describe("webhooks from a live server", () => {
  let receiver;
  let org;
  let client;

  before(async () => {
    receiver = await startReceiver();
    org = await newOrgWithKey(createClient({ baseUrl: server.baseUrl }), server.baseUrl, { unwrap, createClient });
    client = createClient({ baseUrl: server.baseUrl, token: org.key.secret });
  });
  after(() => receiver?.close());

  it("delivers a signed lead.created that verifyWebhook accepts", async () => {
    const endpoint = await unwrap(
      org.user.POST("/v1/webhook-endpoints", {
        body: { url: receiver.url, event_types: ["lead.created"], description: "sdk e2e" },
      }),
    );
    assert.match(endpoint.secret, /^whsec_/);

    const lead = await unwrap(client.POST("/v1/leads", { body: { email: "hook@example.com", first_name: "Hook" } }));

    const isOurs = (r) => {
      try {
        const e = JSON.parse(r.body.toString("utf8"));
        return e.type === "lead.created" && e.object_id === lead.id;
      } catch {
        return false;
      }
    };
    const delivery = await receiver.waitFor(isOurs, 60_000);
    assert.equal(delivery.method, "POST");
    assert.equal(delivery.url, "/hooks/leadpilot");
    assert.match(delivery.headers["content-type"] ?? "", /^application\/json/);
    assert.ok(delivery.headers["webhook-id"]);
    assert.match(delivery.headers["webhook-signature"], /(^| )v1,[A-Za-z0-9+/]+=*( |$)/);

    const event = verifyWebhook(endpoint.secret, delivery.headers, delivery.body);
    assert.equal(event.type, "lead.created");
    assert.equal(event.object_type, "lead");
    assert.equal(event.object_id, lead.id);
    assert.equal(event.data.id, lead.id);
    assert.equal(event.data.email, "hook@example.com");
    assert.ok(!Number.isNaN(Date.parse(event.timestamp)));

    // The reference implementation agrees, independently of our verifier.
    assert.deepEqual(new Webhook(endpoint.secret).verify(delivery.body.toString("utf8"), delivery.headers), event);

    // And a tampered delivery, or another endpoint's secret, is refused.
    const tampered = Buffer.from(delivery.body.toString("utf8").replace("hook@example.com", "evil@example.com"));
    assert.throws(
      () => verifyWebhook(endpoint.secret, delivery.headers, tampered),
      (e) => e instanceof WebhookVerificationError && e.code === "no_matching_signature",
    );
    assert.throws(
      () => verifyWebhook("whsec_" + Buffer.alloc(24, 7).toString("base64"), delivery.headers, delivery.body),
      (e) => e instanceof WebhookVerificationError,
    );
  });

  it("delivers an import's import.completed, and a replay sends it again with the same webhook-id", async () => {
    const endpoint = await unwrap(
      client.POST("/v1/webhook-endpoints", { body: { url: receiver.url, event_types: ["import.completed"] } }),
    );
    const csv = "email,first_name\nimp1@example.com,Imp\nimp2@example.com,Imp\n";
    const imp = await unwrap(
      client.POST("/v1/leads/imports", {
        body: csv,
        bodySerializer: (b) => b,
        headers: { "Content-Type": "text/csv" },
      }),
    );
    const isOurs = (r) => {
      try {
        const e = JSON.parse(r.body.toString("utf8"));
        return e.type === "import.completed" && e.object_id === imp.id;
      } catch {
        return false;
      }
    };
    const first = await receiver.waitFor(isOurs, 60_000);
    const event = verifyWebhook(endpoint.secret, first.headers, first.body);
    assert.equal(event.data.status, "completed");
    assert.equal(event.data.counts.inserted, 2);

    // The delivery log shows it delivered (once the worker has written the
    // attempt, a moment after the receiver answered); a replay sends it
    // again.
    let msg;
    for (let i = 0; i < 100; i++) {
      const messages = await unwrap(
        client.GET("/v1/webhook-endpoints/{endpoint_id}/messages", { params: { path: { endpoint_id: endpoint.id } } }),
      );
      msg = messages.data.find((m) => m.event_id === event.id);
      if (msg?.status === "succeeded") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(msg?.status, "succeeded");
    assert.equal(msg.attempts, 1);
    const before = receiver.received.filter(isOurs).length;
    await unwrap(
      client.POST("/v1/webhook-endpoints/{endpoint_id}/messages/{event_id}/replay", {
        params: { path: { endpoint_id: endpoint.id, event_id: event.id } },
      }),
    );
    await receiver.waitFor((r) => isOurs(r) && receiver.received.filter(isOurs).indexOf(r) >= before, 60_000);
    const again = receiver.received.filter(isOurs)[before];
    assert.equal(again.headers["webhook-id"], first.headers["webhook-id"], "receivers can dedupe a replay by webhook-id");
    assert.deepEqual(verifyWebhook(endpoint.secret, again.headers, again.body), event, "the same snapshot");
  });
});
