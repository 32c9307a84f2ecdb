// The SDK against a live LeadPilot (test/server.js): sign up, verify the
// address, create an API key, then create and list leads with the key, and
// see problem+json answers surface as typed errors.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";

import { ApiError, createClient, isProblem, unwrap } from "@leadpilot/sdk";

import { newOrgWithKey, startServer } from "./server.js";

// Redis database 14 belongs to this file (see the Makefile's test-ts).
const server = await startServer({ redisDb: 14 });
after(() => server.stop());

describe("SDK against a live server", () => {
  /** @type {import("@leadpilot/sdk").LeadPilotClient} */
  let client;
  let org;

  before(async () => {
    const anon = createClient({ baseUrl: server.baseUrl });
    org = await newOrgWithKey(anon, server.baseUrl, { unwrap, createClient });
    assert.match(org.key.secret, /^lp_/);
    client = createClient({ baseUrl: server.baseUrl + "/", token: org.key.secret });
  });

  it("sees the organisation the key belongs to", async () => {
    const me = await unwrap(org.user.GET("/v1/me"));
    assert.equal(me.user.email, org.email);
    assert.equal(me.user.email_verified, true);
    const keys = await unwrap(org.user.GET("/v1/api-keys"));
    assert.deepEqual(keys.data.map((k) => k.id), [org.key.id]);
  });

  it("takes the token from a function, called for every request", async () => {
    let calls = 0;
    const fresh = createClient({
      baseUrl: server.baseUrl,
      token: async () => {
        calls++;
        return org.session.access_token;
      },
    });
    assert.equal((await unwrap(fresh.GET("/v1/me"))).user.email, org.email);
    assert.equal((await unwrap(fresh.GET("/v1/org"))).id, org.session.organization.id);
    assert.equal(calls, 2);
  });

  it("creates leads and lists them, newest first, a page at a time", async () => {
    const emails = ["ada@example.com", "grace@example.com", "edsger@example.com"];
    const created = [];
    for (const email of emails) {
      created.push(await unwrap(client.POST("/v1/leads", { body: { email, first_name: email.split("@")[0], company: "SDK Co" } })));
    }
    assert.deepEqual(created.map((l) => l.email), emails);

    const first = await unwrap(client.GET("/v1/leads", { params: { query: { limit: 2 } } }));
    assert.deepEqual(first.data.map((l) => l.email), ["edsger@example.com", "grace@example.com"]);
    assert.ok(first.next_cursor);
    const second = await unwrap(client.GET("/v1/leads", { params: { query: { limit: 2, cursor: first.next_cursor } } }));
    assert.deepEqual(second.data.map((l) => l.email), ["ada@example.com"]);
    assert.equal(second.next_cursor, null);

    const one = await unwrap(client.GET("/v1/leads/{lead_id}", { params: { path: { lead_id: created[1].id } } }));
    assert.equal(one.first_name, "grace");
    const found = await unwrap(client.GET("/v1/leads", { params: { query: { q: "edsger" } } }));
    assert.deepEqual(found.data.map((l) => l.id), [created[2].id]);
  });

  it("sends typed header parameters (Idempotency-Key)", async () => {
    const key = randomUUID();
    const call = () =>
      client.POST("/v1/leads", {
        params: { header: { "Idempotency-Key": key } },
        body: { email: "barbara@example.com" },
      });
    const a = await call();
    const b = await call();
    assert.equal(a.response.status, 201);
    assert.equal(b.data?.id, a.data?.id);
    assert.equal(b.response.headers.get("idempotent-replayed"), "true");
  });

  it("surfaces a validation failure as a typed problem", async () => {
    const { data, error, response } = await client.POST("/v1/leads", { body: { first_name: "No contact" } });
    assert.equal(data, undefined);
    assert.equal(response.status, 422);
    assert.match(response.headers.get("content-type") ?? "", /^application\/problem\+json/);
    assert.ok(isProblem(error));
    assert.equal(error.status, 422);
    assert.equal(error.code, "validation_failed");
    assert.deepEqual(error.errors?.map((f) => [f.field, f.code]), [["/email", "required"]]);
    assert.equal(error.request_id, response.headers.get("x-request-id"));

    const err = await unwrap(client.POST("/v1/leads", { body: { email: "not an address" } })).then(
      () => assert.fail("expected an ApiError"),
      (e) => e,
    );
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 422);
    assert.equal(err.code, "validation_failed");
    assert.equal(err.problem?.status, 422);
    assert.ok(err.errors.some((f) => f.field === "/email"), JSON.stringify(err.problem));
    assert.equal(err.requestId, err.response.headers.get("x-request-id"));
  });

  it("surfaces not found, and an unknown token, as ApiErrors with their codes", async () => {
    const missing = await unwrap(client.GET("/v1/leads/{lead_id}", { params: { path: { lead_id: randomUUID() } } })).catch((e) => e);
    assert.ok(missing instanceof ApiError);
    assert.equal(missing.status, 404);
    assert.equal(missing.code, "not_found");

    const stranger = createClient({ baseUrl: server.baseUrl, token: "lp_not_a_real_key" });
    const denied = await unwrap(stranger.GET("/v1/leads")).catch((e) => e);
    assert.ok(denied instanceof ApiError);
    assert.equal(denied.status, 401);
    assert.equal(denied.code, denied.problem?.code);
    assert.ok(denied.code !== "http_error", "a 401 is a problem+json with its own code");
  });
});
