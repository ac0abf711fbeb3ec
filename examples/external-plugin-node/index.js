// A Rosey plugin in JavaScript, written from docs/PROTOCOL.md alone.
//
// It answers two chat commands:
//   !fortune (alias !cookie)  opens a fortune cookie; the bot's database
//                             service counts the cookies opened
//   !shout <text>             says the text back in capitals
//
// Run it against a bot whose NATS server is reachable (`rosey console`
// listens on 127.0.0.1:4222):
//
//   npm ci            # once
//   node index.js
//
// Environment (all optional), the same names the Go plugins read:
//   ROSEY_NATS_URL       NATS server(s), comma-separated; default nats://127.0.0.1:4222
//   ROSEY_NATS_USER, ROSEY_NATS_PASSWORD, ROSEY_NATS_TOKEN
//   ROSEY_NATS_CREDS     a NATS .creds file;  ROSEY_NATS_NKEY  a file holding an nkey seed
//   ROSEY_NATS_PREFIX    the bot's subject prefix, if it has one (e.g. "bot1")
//   ROSEY_NATS_INBOX_PREFIX  where replies to this plugin's requests go;
//                        default _INBOX.plugin.fortune (PROTOCOL.md §1)
//   ROSEY_PLUGIN_CONFIG  this plugin's config as JSON, or @file: {"fortunes": ["…"]}
//   ROSEY_LOG_LEVEL      debug, info (default), warn, error
//
// SIGINT or SIGTERM: stop taking commands, finish those in flight, announce
// platform.plugin.fortune.stopped, close the connection, exit 0. If the
// connection closes for good (the server is gone) it exits 1.

import { readFileSync } from "node:fs";
import { connect, credsAuthenticator, headers, nkeyAuthenticator, nuid } from "nats";

// ---- configuration -------------------------------------------------------

const env = (key, def = "") => process.env[key] || def;

const levels = { debug: 10, info: 20, warn: 30, error: 40 };
const minLevel = levels[env("ROSEY_LOG_LEVEL", "info").toLowerCase()] ?? levels.info;

// log writes one logfmt line to stderr, like the Go plugins' logs.
function log(level, msg, fields = {}) {
  if (levels[level] < minLevel) return;
  const kv = Object.entries({ plugin: info.name, ...fields })
    .map(([k, v]) => `${k}=${JSON.stringify(String(v))}`)
    .join(" ");
  process.stderr.write(`time=${new Date().toISOString()} level=${level.toUpperCase()} msg=${JSON.stringify(msg)} ${kv}\n`);
}

function readConfig() {
  let raw = env("ROSEY_PLUGIN_CONFIG");
  if (raw.startsWith("@")) raw = readFileSync(raw.slice(1), "utf8");
  if (raw.trim() === "") return {};
  const cfg = JSON.parse(raw);
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) {
    throw new Error("ROSEY_PLUGIN_CONFIG: want a JSON object");
  }
  if (cfg.fortunes !== undefined && !(Array.isArray(cfg.fortunes) && cfg.fortunes.length > 0 && cfg.fortunes.every((f) => typeof f === "string"))) {
    throw new Error("ROSEY_PLUGIN_CONFIG: fortunes: want a non-empty array of strings");
  }
  return cfg;
}

// The subject prefix: subjects become "<prefix>.plugin.fortune.command";
// the micro service metadata carries it with its trailing dot (§1, §5).
const prefix = env("ROSEY_NATS_PREFIX") ? env("ROSEY_NATS_PREFIX").replace(/\.$/, "") + "." : "";
const subject = (s) => prefix + s;

// ---- the plugin's Info (§5) ----------------------------------------------

const info = {
  name: "fortune",
  version: "1.0.0",
  description: "Fortune cookies and shouting (an external JavaScript plugin)",
  commands: [
    { name: "fortune", usage: "", description: "Opens a fortune cookie", aliases: ["cookie"], cooldown_ms: 1000 },
    { name: "shout", usage: "<text>", description: "Says your text back in capitals" },
  ],
};

const defaultFortunes = [
  "A pleasant surprise is waiting for you.",
  "Your code will compile on the first try.",
  "Now is the time to try something new.",
  "A smile is your passport into the hearts of others.",
  "The best playlist is the one you share.",
];

// ---- wire helpers (§1) ---------------------------------------------------

// envelope returns the headers Rosey components send: the correlation id
// (copied from the request we answer, or a new one), the time and our name.
function envelope(correlationId) {
  const h = headers();
  h.set("Rosey-Correlation-Id", correlationId || nuid.next());
  h.set("Rosey-Timestamp", new Date().toISOString());
  h.set("Rosey-Source", info.name);
  return h;
}

const encode = (v) => new TextEncoder().encode(JSON.stringify(v));

// ---- the commands (§4) ---------------------------------------------------

// A user error is shown to the user as it is; anything else is logged and
// answered "internal error" (the router shows a short apology).
class UserError extends Error {}

// db sends a request to the database service (§6), in the plugin's own
// namespace (database.<name>.<op>), and returns its data.
async function db(nc, op, body, correlationId) {
  const reply = await nc.request(subject(`database.${info.name}.${op}`), encode(body), {
    timeout: 5000,
    headers: envelope(correlationId),
  });
  const res = reply.json();
  if (!res.success) throw new Error(`database.${info.name}.${op}: ${res.code}: ${res.error}`);
  return res.data;
}

function handlers(nc, cfg) {
  const fortunes = cfg.fortunes ?? defaultFortunes;
  return {
    async fortune(req, correlationId) {
      const text = fortunes[Math.floor(Math.random() * fortunes.length)];
      const counter = await db(nc, "update", {
        collection: "fortune_stats", id: "cookies", update: { $inc: { opened: 1 } }, upsert: true,
      }, correlationId);
      return `🥠 ${text} (cookie #${counter.opened})`;
    },
    async shout(req) {
      if (!req.text) throw new UserError("❌ Usage: !shout <text>");
      return `📣 ${req.text.toUpperCase()}!`;
    },
  };
}

// ---- main ----------------------------------------------------------------

// checkManifest refuses to run when the manifest the bot names
// (ROSEY_PLUGIN_MANIFEST, set for a plugin installed with `rosey plugin
// install`) says something else than info: what the bot's owner was shown
// before installing is what runs (PROTOCOL.md, Connecting).
function checkManifest() {
  const file = env("ROSEY_PLUGIN_MANIFEST");
  if (!file) return;
  const m = JSON.parse(readFileSync(file, "utf8"));
  const norm = (cmds) => JSON.stringify((cmds ?? []).map((c) => [c.name, c.usage ?? "", c.description ?? "", c.aliases ?? [], c.min_rank ?? 0, c.cooldown_ms ?? 0]));
  for (const [field, a, b] of [["name", m.name, info.name], ["version", m.version, info.version],
    ["description", m.description ?? "", info.description], ["commands", norm(m.commands), norm(info.commands)]]) {
    if (a !== b) throw new Error(`Info differs from the manifest: ${file} says ${field} ${a}, the plugin ${b}`);
  }
}

async function main() {
  checkManifest();
  const cfg = readConfig();
  const servers = env("ROSEY_NATS_URL", "nats://127.0.0.1:4222").split(",").map((s) => s.trim());
  const opts = {
    servers,
    name: `rosey-plugin-${info.name}`,
    maxReconnectAttempts: 120, // about four minutes, as the Go plugins do
    reconnectTimeWait: 2000,
    // Replies to our own requests (the database) come to our own inbox, the
    // only one a least-privilege user may read.
    inboxPrefix: env("ROSEY_NATS_INBOX_PREFIX", `_INBOX.plugin.${info.name}`),
  };
  if (env("ROSEY_NATS_USER")) {
    opts.user = env("ROSEY_NATS_USER");
    opts.pass = env("ROSEY_NATS_PASSWORD");
  }
  if (env("ROSEY_NATS_TOKEN")) opts.token = env("ROSEY_NATS_TOKEN");
  if (env("ROSEY_NATS_CREDS")) opts.authenticator = credsAuthenticator(readFileSync(env("ROSEY_NATS_CREDS")));
  if (env("ROSEY_NATS_NKEY")) {
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(readFileSync(env("ROSEY_NATS_NKEY"), "utf8").trim()));
  }

  const nc = await connect(opts);
  // Report what the server refuses (permissions) and connection changes.
  (async () => {
    for await (const s of nc.status()) {
      if (s.type === "error") log("error", "nats error", { err: s.data, ...(s.permissionContext ?? {}) });
      else if (s.type === "disconnect" || s.type === "reconnect") log("warn", `nats ${s.type}`, { server: s.data });
    }
  })().catch(() => {});
  const commands = handlers(nc, cfg);
  const inflight = new Set();

  // Answer one command request: {result} or {error}, keeping the request's
  // correlation id.
  async function serve(msg) {
    const correlationId = msg.headers?.get("Rosey-Correlation-Id") ?? "";
    const reply = (body, code, description) => {
      const h = envelope(correlationId);
      if (code) msg.respondError(code, description, encode(body), { headers: h });
      else msg.respond(encode(body), { headers: h });
    };
    let req;
    try {
      req = msg.json();
      if (req === null || typeof req !== "object" || typeof req.command !== "string") throw new Error("no command");
    } catch (err) {
      log("error", "malformed command request", { err: err.message, correlation_id: correlationId });
      reply({ error: `malformed request: ${err.message}` }, 400, "malformed request");
      return;
    }
    const name = info.commands.find((c) => c.name === req.command || (c.aliases ?? []).includes(req.command))?.name;
    const fn = name && commands[name];
    if (!fn) {
      reply({ error: `unknown command "${req.command}"` }, 404, "unknown command");
      return;
    }
    try {
      reply({ result: await fn(req, correlationId) });
    } catch (err) {
      if (err instanceof UserError) {
        reply({ error: err.message });
        return;
      }
      log("error", "command failed", { command: req.command, user: req.user, err: err.message, correlation_id: correlationId });
      reply({ error: "internal error" }, 500, "internal error");
    }
  }

  // Register as a NATS micro service (§5).
  const srv = await nc.services.add({
    name: info.name,
    version: info.version,
    description: info.description,
    metadata: { "rosey.info": JSON.stringify(info), "rosey.prefix": prefix },
  });
  srv.addEndpoint("command", {
    subject: subject(`plugin.${info.name}.command`),
    // The queue group goes on the endpoint: nats.js refuses a "." in the
    // service-wide queue option, but not here.
    queue: `rosey.${info.name}`,
    handler: (err, msg) => {
      if (err) {
        log("error", "endpoint failed", { err: err.message });
        return;
      }
      const p = serve(msg).catch((e) => log("error", "reply failed", { err: e.message }));
      inflight.add(p);
      p.finally(() => inflight.delete(p));
    },
  });
  const instance = srv.info().id;
  const announce = (state) =>
    nc.publish(subject(`platform.plugin.${info.name}.${state}`), encode({ ...info, instance, state }), {
      headers: envelope(),
    });
  announce("started");
  log("info", "plugin serving", { version: info.version, nats: nc.getServer() });
  // Say started again whenever the connection comes back: the bot on the
  // other side may have restarted and forgotten us (§5).
  (async () => {
    for await (const s of nc.status()) if (s.type === "reconnect") announce("started");
  })().catch(() => {});

  let stopping = false;
  async function shutdown(signal) {
    if (stopping) return;
    stopping = true;
    log("info", "stopping", { signal });
    await srv.stop(); // drains the endpoint: no new commands
    await Promise.allSettled([...inflight]); // finish the ones in flight
    announce("stopped");
    await nc.drain(); // flushes the announcement, then closes
    log("info", "plugin stopped");
    process.exit(0);
  }
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  // The connection closed without our asking: the server is gone for good.
  const err = await nc.closed();
  if (!stopping) {
    log("error", "NATS connection lost", { err: err?.message ?? "closed" });
    process.exit(1);
  }
}

main().catch((err) => {
  log("error", "plugin failed", { err: err.message });
  process.exit(1);
});
