// Browsers (a bundler's default condition) get src/index.js: the client
// without the verifier, so nothing there may import a node: module.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { it } from "node:test";

import * as browser from "../src/index.js";
import * as nodeEntry from "@leadpilot/sdk";

it("keeps node: modules out of the browser entry", async () => {
  assert.equal(typeof browser.createClient, "function");
  assert.equal("verifyWebhook" in browser, false);
  assert.equal(typeof nodeEntry.verifyWebhook, "function");
  assert.equal(nodeEntry.createClient, browser.createClient);
  const src = await readFile(new URL("../src/index.js", import.meta.url), "utf8");
  const imports = [...src.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]);
  assert.deepEqual(imports, ["openapi-fetch"]);
});
