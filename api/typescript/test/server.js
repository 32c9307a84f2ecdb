// A live LeadPilot for the SDK's end-to-end tests: a database of its own
// (created, migrated, dropped), a Redis database of its own (flushed), and
// `leadpilot all` (API and workers) on a free loopback port.
//
// Reads DATABASE_URL, MIGRATE_DATABASE_URL and REDIS_URL from the
// environment (`make test-ts` sources .data/services.env) or else from
// ../../.data/services.env (`make services` writes it). Runs LEADPILOT_BIN
// when set (`make test-ts` builds bin/leadpilot), else builds one with
// `go build`. Needs psql (`make services` installs it) for CREATE DATABASE.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** KEY=value pairs of .data/services.env (export KEY='value' lines). */
function servicesEnv() {
  const file = join(repoRoot, ".data/services.env");
  if (!existsSync(file)) return {};
  const out = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^export ([A-Z_]+)='([^']*)'$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

function withDatabase(raw, name) {
  const u = new URL(raw);
  u.pathname = "/" + name;
  return u.toString();
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

/** FLUSHDB on Redis database db of url, speaking RESP. */
function flushRedis(url, db) {
  const u = new URL(url);
  const cmds = [];
  const pass = decodeURIComponent(u.password);
  if (pass) cmds.push(u.username ? ["AUTH", decodeURIComponent(u.username), pass] : ["AUTH", pass]);
  cmds.push(["SELECT", String(db)], ["FLUSHDB"]);
  const wire = cmds
    .map((c) => `*${c.length}\r\n` + c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(""))
    .join("");
  return new Promise((resolveFlush, reject) => {
    const sock = connect(Number(u.port || 6379), u.hostname);
    let got = "";
    sock.setTimeout(5000, () => sock.destroy(new Error("redis: timeout")));
    sock.on("error", reject);
    sock.on("data", (d) => {
      got += d.toString();
      const replies = got.split("\r\n").filter(Boolean);
      if (replies.some((r) => r.startsWith("-"))) {
        sock.destroy();
        reject(new Error(`redis: ${got.trim()}`));
      } else if (replies.length >= cmds.length) {
        sock.end();
        resolveFlush();
      }
    });
    sock.write(wire);
  });
}

/** Drops leadpilot_sdk_<seconds>_… databases made more than 2 hours ago. */
async function dropAbandoned(admin) {
  const { stdout } = await run("psql", [admin, "-w", "-X", "-q", "-At", "-c",
    "SELECT datname FROM pg_database WHERE datname ~ '^leadpilot_sdk_[0-9]+_[0-9a-f]+$'"]);
  const cutoff = Date.now() / 1000 - 2 * 3600;
  for (const db of stdout.split("\n").filter(Boolean)) {
    if (Number(db.split("_")[2]) < cutoff) {
      await run("psql", [admin, "-w", "-X", "-q", "-c", `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`]).catch(() => {});
    }
  }
}

/**
 * Starts LeadPilot. redisDb is the Redis database number this test file
 * owns (asynq's key names are fixed, so two servers may not share one).
 * @param {{ redisDb: number, env?: Record<string, string> }} opts
 */
export async function startServer({ redisDb, env = {} }) {
  const fromFile = servicesEnv();
  const pick = (k) => process.env[k] || fromFile[k] || "";
  const appURL = pick("DATABASE_URL") || "postgres://leadpilot_api@127.0.0.1:5432/leadpilot?sslmode=disable";
  const ownerURL = pick("MIGRATE_DATABASE_URL") || appURL;
  const redisURL = pick("REDIS_URL") || "redis://127.0.0.1:6379/0";

  const work = mkdtempSync(join(tmpdir(), "leadpilot-sdk-"));
  const cleanups = [() => rmSync(work, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const f of cleanups.splice(0).reverse()) await f();
  };
  try {
    let bin = process.env.LEADPILOT_BIN;
    if (!bin) {
      bin = join(work, "leadpilot");
      await run("go", ["build", "-o", bin, "./cmd/leadpilot"], { cwd: repoRoot, env: { ...process.env, CGO_ENABLED: "0" } });
    }

    // The name carries its creation time: databases of runs killed before
    // their clean-up are dropped by a later run once surely abandoned.
    const name = `leadpilot_sdk_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
    const admin = withDatabase(ownerURL, "postgres");
    await dropAbandoned(admin);
    await run("psql", [admin, "-w", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", `CREATE DATABASE "${name}"`]);
    cleanups.push(() =>
      run("psql", [admin, "-w", "-X", "-q", "-c", `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`]).catch(() => {}),
    );

    const redisTestURL = (() => {
      const u = new URL(redisURL);
      u.pathname = "/" + redisDb;
      return u.toString();
    })();
    await flushRedis(redisURL, redisDb);

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const serverEnv = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? work,
      LEADPILOT_ENV: "development",
      HTTP_ADDR: `127.0.0.1:${port}`,
      PUBLIC_URL: baseUrl,
      LOG_LEVEL: "warn",
      LOG_FORMAT: "text",
      DATA_DIR: work,
      DATABASE_URL: withDatabase(appURL, name),
      MIGRATE_DATABASE_URL: withDatabase(ownerURL, name),
      REDIS_URL: redisTestURL,
      JWT_SECRET: randomBytes(48).toString("base64"),
      SHUTDOWN_TIMEOUT: "5s",
      // every request of a test comes from 127.0.0.1
      AUTH_RATE_LIMIT_IP_PER_MINUTE: "1000",
      AUTH_RATE_LIMIT_EMAIL_PER_MINUTE: "1000",
      ...env,
    };
    await run(bin, ["migrate", "up"], { env: serverEnv });

    let log = "";
    const child = spawn(bin, ["all"], { env: serverEnv, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
    let running = true;
    exited.then(() => (running = false));
    cleanups.push(async () => {
      if (running) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
    });

    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!running) throw new Error(`leadpilot exited before answering /readyz:\n${log}`);
      try {
        const r = await fetch(`${baseUrl}/readyz`);
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`leadpilot did not become ready in 60 s:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { baseUrl, stop: cleanup, log: () => log };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * Signs up a new organisation, verifies its owner's address (the link from
 * the development mail catcher at /dev/mail) and creates an API key.
 * @param {import("@leadpilot/sdk").LeadPilotClient} anon a client without a token
 * @param {string} baseUrl
 */
export async function newOrgWithKey(anon, baseUrl, { unwrap, createClient }) {
  const email = `sdk-${randomBytes(6).toString("hex")}@example.com`;
  const session = await unwrap(
    anon.POST("/v1/auth/signup", {
      body: { email, password: "correct horse battery", full_name: "SDK Test", org_name: "SDK Co" },
    }),
  );
  const mail = await (await fetch(`${baseUrl}/dev/mail`)).json();
  const link = mail.data.find((m) => m.to === email)?.links.find((l) => l.includes("token="));
  if (!link) throw new Error(`no verification mail for ${email}: ${JSON.stringify(mail)}`);
  const token = new URL(link).searchParams.get("token");
  await unwrap(anon.POST("/v1/auth/verify-email", { body: { token } }));
  const user = createClient({ baseUrl, token: session.access_token });
  const key = await unwrap(user.POST("/v1/api-keys", { body: { name: "sdk e2e" } }));
  return { email, session, key, user };
}
