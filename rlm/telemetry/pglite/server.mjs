// Embedded TimescaleDB: PGlite (WASM Postgres) with the TimescaleDB extension, served over the
// Postgres wire protocol on loopback. Started by rlm/telemetry/embedded.py, one per machine home.
// Usage: node server.mjs --data DIR --port PORT --ready FILE
//
// PGlite is one single-session backend that must be handed whole protocol messages. This server:
// - frames every client's byte stream by message length, whatever the TCP reads look like;
// - greets each client itself, so connecting never waits for the backend;
// - lends the backend to one client at a time, from its first message until it disconnects
//   (others wait in a queue), and resets the session before the next one (rollback, DISCARD ALL);
// - refuses what would crash the WASM backend (COPY FROM STDIN, oversized messages) with an error;
// - restarts the backend on the same port if it crashes anyway.
import net from "node:net";
import { randomInt } from "node:crypto";
import { writeFileSync, renameSync } from "node:fs";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";

const { values } = parseArgs({
  options: {
    data: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    ready: { type: "string" },
    // How long a client may wait for the backend: far above what a sweep's writers need.
    "queue-timeout-ms": { type: "string", default: String(3600_000) },
    // A holder idle outside a transaction is disconnected after this long, only if others wait.
    "idle-timeout-ms": { type: "string", default: String(60_000) },
    "max-message-bytes": { type: "string", default: String(256 * 1024 * 1024) },
  },
});
const QUEUE_TIMEOUT_MS = Number(values["queue-timeout-ms"]);
const IDLE_TIMEOUT_MS = Number(values["idle-timeout-ms"]);
const MAX_MESSAGE = Number(values["max-message-bytes"]);
const MAX_STARTUP = 10_000;           // PostgreSQL's own limit for a startup packet
const PAUSE_AT = 64 * 1024 * 1024;    // stop reading a waiting client past this many buffered bytes
const BATCH_BYTES = 32 * 1024 * 1024; // hand the backend at most this much at once (one message may exceed)
const PROTOCOL_3 = 196608, SSL_REQUEST = 80877103, GSS_REQUEST = 80877104, CANCEL_REQUEST = 80877102;
const log = (...args) => console.error(new Date().toISOString(), ...args);

// ---- wire helpers -------------------------------------------------------------------------
function message(type, body = Buffer.alloc(0)) {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, "latin1");
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}
const cstr = (text) => Buffer.from(text + "\0", "utf8");
const query = (sql) => message("Q", cstr(sql));

function errorResponse(severity, code, text) {
  return message("E", Buffer.concat([cstr("S" + severity), cstr("V" + severity), cstr("C" + code),
    cstr("M" + text), Buffer.from([0])]));
}

// Types and status of the messages in a backend reply (it always holds whole messages).
function* replyMessages(reply) {
  for (let at = 0; at + 5 <= reply.length; ) {
    const length = reply.readInt32BE(at + 1);
    yield [String.fromCharCode(reply[at]), reply[at + 5]];
    at += 1 + length;
  }
}

// COPY FROM STDIN aborts the WASM backend; find it outside literals, identifiers and comments.
const SKIP = /'(?:[^']|'')*'|[eE]'(?:[^'\\]|\\[\s\S]|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\/|\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g;
function copiesFromStdin(sql) {
  if (!/stdin/i.test(sql)) return false;
  return sql.replace(SKIP, " ").split(";").some((s) => /^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i.test(s));
}
const REFUSED = "DO $rlm$BEGIN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', MESSAGE = " +
  "'COPY FROM STDIN is not supported by the embedded TimescaleDB: use INSERT, or a TimescaleDB server " +
  "(RLM_TSDB_DSN)'; END$rlm$";

// A query or parse message rewritten to fail inside the backend, so transaction state stays true.
function guard(type, msg) {
  if (type === "Q") {
    return copiesFromStdin(msg.toString("utf8", 5, msg.length - 1)) ? query(REFUSED) : msg;
  }
  if (type === "P") {
    const nameEnd = msg.indexOf(0, 5);
    const sqlEnd = msg.indexOf(0, nameEnd + 1);
    if (copiesFromStdin(msg.toString("utf8", nameEnd + 1, sqlEnd))) {
      return message("P", Buffer.concat([msg.subarray(5, nameEnd + 1), cstr(REFUSED), Buffer.from([0, 0])]));
    }
  }
  return msg;
}

// ---- framing ------------------------------------------------------------------------------
// Bytes from TCP reads, cut into whole messages (startup packets have no type byte).
class Framer {
  constructor() { this.chunks = []; this.size = 0; }
  push(chunk) { this.chunks.push(chunk); this.size += chunk.length; }
  peek(n) {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0];
  }
  take(n) {
    const parts = [];
    let need = n;
    while (need > 0) {
      const head = this.chunks[0];
      if (head.length <= need) { parts.push(head); this.chunks.shift(); need -= head.length; }
      else { parts.push(head.subarray(0, need)); this.chunks[0] = head.subarray(need); need = 0; }
    }
    this.size -= n;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, n);
  }
  // The next whole message, null if incomplete; throws on a length no valid client sends.
  next(startup) {
    const header = startup ? 4 : 5;
    if (this.size < header) return null;
    const head = this.peek(header);
    const length = startup ? head.readInt32BE(0) : head.readInt32BE(1);
    const total = startup ? length : length + 1;
    if (startup ? length < 8 || length > MAX_STARTUP : length < 4) {
      throw Object.assign(new Error(`invalid message length ${length}`), { code: "08P01" });
    }
    if (total > MAX_MESSAGE) {
      throw Object.assign(new Error(`a message of ${total} bytes exceeds the embedded TimescaleDB's ` +
        `limit of ${MAX_MESSAGE} bytes; send smaller statements or use a TimescaleDB server`), { code: "54000" });
    }
    return this.size < total ? null : this.take(total);
  }
}

// ---- the backend worker -------------------------------------------------------------------
class Backend {
  constructor(dataDir, onCrash) {
    this.dataDir = dataDir;
    this.onCrash = onCrash;
    this.pending = new Map();
    this.nextId = 1;
  }
  start() {
    return new Promise((resolve, reject) => {
      this.worker = new Worker(new URL("./backend.mjs", import.meta.url), { workerData: { data: this.dataDir } });
      this.worker.on("message", (msg) => {
        if (msg.op === "ready") { this.status = msg.status; this.restore = msg.restore; resolve(this); }
        else if (msg.op === "reply") {
          const done = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          done.resolve(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.length));
        } else if (msg.op === "closed") this.closed?.();
      });
      this.worker.on("error", (err) => { log("backend error:", err); reject(err); this.fail(err); });
      this.worker.on("exit", (code) => this.fail(new Error(`backend exited with code ${code}`)));
    });
  }
  exec(data) {
    if (this.dead) return Promise.reject(new Error("the backend is down"));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ op: "exec", id, data });
    });
  }
  fail(err) {
    if (this.dead) return;
    this.dead = true;
    for (const { reject } of this.pending.values()) reject(err);
    this.pending.clear();
    if (!this.stopping) this.onCrash(err);
  }
  stop() {
    this.stopping = true;
    return new Promise((resolve) => {
      this.closed = resolve;
      this.worker.postMessage({ op: "close" });
    });
  }
}

// ---- clients and the queue for the backend ------------------------------------------------
let backend = null;
let greeting = [];          // the backend's ParameterStatus pairs, sent to every new client
let holder = null;          // the session the backend is lent to
const waiting = [];         // sessions waiting for it, in arrival order
const sessions = new Set();
let nextSessionId = 1;

function grantNext() {
  while (!holder && backend && !backend.dead && waiting.length) {
    const next = waiting.shift();
    if (!next.closed) next.grant();
  }
}

function release(session) {
  if (holder !== session) return;
  holder = null;
  grantNext();
}

class Session {
  constructor(socket) {
    this.id = nextSessionId++;
    this.socket = socket;
    this.framer = new Framer();
    this.started = false;
    this.queue = [];          // whole messages not yet handed to the backend
    this.queuedBytes = 0;
    this.busy = false;        // a batch is in the backend
    this.txStatus = "I";
    this.copyIn = false;
    this.lastActive = Date.now();
    sessions.add(this);
    socket.setNoDelay(true);
    socket.on("data", (chunk) => this.onData(chunk));
    socket.on("error", () => {});
    socket.on("close", () => this.onClose());
  }

  onData(chunk) {
    this.framer.push(chunk);
    this.lastActive = Date.now();
    try {
      for (let msg; !this.closed && (msg = this.framer.next(!this.started)); ) {
        if (!this.started) this.startup(msg);
        else if (msg[0] === 0x58) { this.terminating = true; break; } // 'X' Terminate
        else { this.queue.push(msg); this.queuedBytes += msg.length; }
      }
    } catch (err) {
      return this.fatal(err.code || "08P01", err.message);
    }
    this.pump();
  }

  startup(msg) {
    const code = msg.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSS_REQUEST) return this.socket.write("N");
    if (code === CANCEL_REQUEST) return this.socket.destroy();  // a running statement cannot be interrupted
    if (code >> 16 !== 3) throw Object.assign(new Error(`unsupported frontend protocol ${code >> 16}.${code & 0xffff}`), { code: "0A000" });
    const parts = msg.toString("utf8", 8, msg.length).split("\0");
    this.params = {};
    for (let i = 0; i + 1 < parts.length && parts[i]; i += 2) this.params[parts[i]] = parts[i + 1];
    const out = [message("R", Buffer.from([0, 0, 0, 0]))];
    if (code & 0xffff) {  // newer 3.x: answer that 3.0 is what this server speaks
      const v = Buffer.alloc(8);
      v.writeInt32BE(PROTOCOL_3, 0);
      out.push(message("v", v));
    }
    for (const [name, value] of greeting) {
      out.push(message("S", Buffer.concat([cstr(name), cstr(this.params[name] ?? value)])));
    }
    const key = Buffer.alloc(8);
    key.writeInt32BE(this.id, 0);
    key.writeInt32BE(randomInt(2 ** 31 - 1), 4);
    out.push(message("K", key), message("Z", Buffer.from("I")));
    this.socket.write(Buffer.concat(out));
    this.started = true;
  }

  // What the client asked for at start-up (application_name, options=-c ...), as SET statements.
  settings() {
    const sets = [];
    for (const [name, value] of Object.entries(this.params || {})) {
      if (name === "options") {
        for (const m of value.matchAll(/(?:-c\s*|--)([\w.]+)=(\S+)/g)) sets.push([m[1], m[2]]);
      } else if (!["user", "database", "replication"].includes(name) && !name.startsWith("_pq_.")) {
        sets.push([name, value]);
      }
    }
    return sets.map(([n, v]) => query(`SET ${JSON.stringify(n)} TO '${v.replaceAll("'", "''")}'`));
  }

  pump() {
    if (this.closed) return;
    if (holder !== this) {
      if (!this.queue.length) {
        if (this.terminating) this.socket.destroy();
        return;
      }
      if (this.queuedBytes > PAUSE_AT) this.socket.pause();
      if (!this.inLine) {
        this.inLine = true;
        this.waitTimer = setTimeout(() => this.fatal("53300", "the embedded TimescaleDB is busy: waited " +
          `${QUEUE_TIMEOUT_MS / 1000} s for other clients to finish`), QUEUE_TIMEOUT_MS);
        waiting.push(this);
        grantNext();  // may hand the backend over and pump again at once
      }
      return;
    }
    if (this.busy) return;
    if (!this.queue.length) {
      if (this.terminating) this.socket.destroy();
      return;
    }
    let size = 0, count = 0;
    while (count < this.queue.length && (count === 0 || size + this.queue[count].length <= BATCH_BYTES)) {
      size += this.queue[count++].length;
    }
    const batch = this.queue.splice(0, count).map((msg) => {
      if (msg[0] === 0x63 || msg[0] === 0x66) this.copyIn = false;  // CopyDone, CopyFail
      return guard(String.fromCharCode(msg[0]), msg);
    });
    this.queuedBytes -= size;
    this.socket.resume();
    this.run(batch.length === 1 ? batch[0] : Buffer.concat(batch));
  }

  async run(data) {
    this.busy = true;
    let reply;
    try {
      reply = await backend.exec(data);
    } catch {
      return;  // the backend crashed: every session was closed and it restarts
    } finally {
      this.busy = false;
      this.lastActive = Date.now();
    }
    let last = null;
    for (const [type, status] of replyMessages(reply)) {
      if (type === "Z") { this.txStatus = String.fromCharCode(status); this.copyIn = false; }
      else if (type === "G") this.copyIn = true;
      last = type;
    }
    // Idle and synced: nothing of the client's is pending in the backend but its session state.
    this.synced = last === "Z" && this.txStatus === "I";
    if (!this.closed && reply.length) this.socket.write(reply);
    if (this.closed) this.reset();
    else this.pump();
  }

  // The backend is ours: apply our start-up settings (their replies are not the client's), then go.
  async grant() {
    clearTimeout(this.waitTimer);
    this.inLine = false;
    holder = this;
    const sets = this.settings();
    if (sets.length) {
      this.busy = true;
      try {
        const reply = await backend.exec(Buffer.concat(sets));
        for (const [type] of replyMessages(reply)) if (type === "E") log(`client ${this.id}: a start-up setting failed`);
      } catch {
        return;
      } finally {
        this.busy = false;
      }
    }
    if (this.closed) this.reset();
    else this.pump();
  }

  // A message for the client, then close; the session is reset before the next client.
  fatal(code, text) {
    if (this.closed) return;
    log(`client ${this.id}: ${text}`);
    this.socket.end(errorResponse("FATAL", code, text));
    this.onClose();
  }

  onClose() {
    if (this.closed) return;
    this.closed = true;
    sessions.delete(this);
    clearTimeout(this.waitTimer);
    this.queue = [];
    if (holder === this && !this.busy) this.reset();
    // a waiting session is skipped by grantNext; a busy one resets when its batch returns
  }

  // Roll back whatever the client left (an extended-protocol statement without Sync is made to
  // fail first, so Sync cannot commit it), DISCARD ALL (temp tables, prepared statements, locks,
  // LISTEN), and put every setting back to its value at start-up.
  async reset() {
    const parts = [];
    const synced = this.synced !== false;  // a client that never sent anything is synced too
    if (!synced) {
      if (this.copyIn) parts.push(message("f", cstr("client disconnected")));
      parts.push(message("E", Buffer.concat([cstr("rlm reset: no such portal"), Buffer.alloc(4)])),
        message("S"), query("ROLLBACK"));
    }
    parts.push(query("DISCARD ALL"), query(backend.restore));
    try {
      const reply = await backend.exec(Buffer.concat(parts));
      const types = [...replyMessages(reply)];
      const errors = types.filter(([t]) => t === "E").length - (synced ? 0 : this.copyIn ? 2 : 1);
      const last = types.filter(([t]) => t === "Z").at(-1);
      if (errors > 0 || !last || last[1] !== 0x49) log(`client ${this.id}: the session reset failed`);
    } catch {
      return;  // crashed: the restart starts from a clean session anyway
    }
    release(this);
  }
}

// Disconnect an idle holder (outside any transaction) once others have waited long enough.
setInterval(() => {
  if (!holder || !waiting.length || holder.busy || holder.queue.length || holder.txStatus !== "I") return;
  if (Date.now() - holder.lastActive > IDLE_TIMEOUT_MS) {
    holder.fatal("57P05", `terminating connection: idle for ${IDLE_TIMEOUT_MS / 1000} s while other ` +
      "clients wait for the embedded TimescaleDB");
  }
}, 1000).unref();

// ---- start, crash recovery, stop ----------------------------------------------------------
async function startBackend() {
  const b = new Backend(values.data, onBackendCrash);
  await b.start();
  greeting = b.status;
  return b;
}

async function onBackendCrash(err) {
  log("the backend crashed; restarting it on the same port:", err?.message ?? err);
  holder = null;
  for (const s of [...sessions]) s.fatal("57P01", "the embedded TimescaleDB restarted after a crash; reconnect");
  backend = null;
  try {
    backend = await startBackend();
  } catch (e) {
    log("the backend could not restart:", e);
    process.exit(1);
  }
  grantNext();
}

backend = await startBackend();
const server = net.createServer((socket) => new Session(socket));
server.maxConnections = 10_000;
await new Promise((resolve, reject) => {
  server.once("error", reject);
  server.listen(Number(values.port), values.host, resolve);
});

// The ready file appears atomically once the port accepts connections.
const info = { pid: process.pid, host: values.host, port: server.address().port };
if (values.ready) {
  writeFileSync(values.ready + ".tmp", JSON.stringify(info));
  renameSync(values.ready + ".tmp", values.ready);
}
console.log(`listening ${JSON.stringify(info)}`);

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  try {
    server.close();
    for (const s of [...sessions]) s.socket.destroy();
    if (backend && !backend.dead) await backend.stop();  // flushes the data directory
  } finally {
    process.exit(0);
  }
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
