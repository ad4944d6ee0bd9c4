// Embedded TimescaleDB: PGlite (WASM Postgres) with the TimescaleDB extension, served over the
// Postgres wire protocol on loopback. Started by rlm/telemetry/embedded.py, one per machine home.
// Usage: node server.mjs --data DIR --port PORT --ready FILE
//
// PGlite is one single-session backend that must be handed whole protocol messages. This server:
// - frames every client's byte stream by message length, whatever the TCP reads look like;
// - greets each client itself, so connecting never waits for the backend;
// - lends the backend to one client at a time, from its first message until it disconnects
//   (others wait in a queue), and resets the session before the next one (rollback, DISCARD ALL);
// - serves COPY FROM STDIN itself (the backend reads the gathered data from memory), and refuses
//   what would crash the WASM backend (COPY FROM STDIN not sent alone, oversized messages);
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

// COPY FROM STDIN aborts the WASM backend when it meets CopyData, so this server takes the copy-in
// sub-protocol itself: it answers CopyInResponse, gathers the client's CopyData up to CopyDone,
// and has the backend read them as a file ("FROM '/dev/blob'"), which PGlite reads from memory.
// Only a simple Query holding one COPY statement is served so; COPY FROM STDIN inside a
// multi-statement string or an extended-protocol Parse is refused with an error.
const SKIP = /'(?:[^']|'')*'|[eE]'(?:[^'\\]|\\[\s\S]|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\/|\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g;
const FROM_STDIN = /\bfrom\s+stdin\b/i;
const blank = (sql) => sql.replace(SKIP, (m) => " ".repeat(m.length));  // literals out, positions kept
function copiesFromStdin(sql) {
  if (!/stdin/i.test(sql)) return false;
  return blank(sql).split(";").some((s) => /^\s*copy\b/i.test(s) && FROM_STDIN.test(s));
}
const BLOB = "'/dev/blob'";

// A Query that is one COPY ... FROM STDIN: what the backend runs instead, and the CopyInResponse.
function copyIn(sql) {
  if (!/stdin/i.test(sql)) return null;
  const plain = blank(sql);
  const statements = plain.replace(/[\s;]+$/, "").split(";");
  if (statements.length !== 1 || !/^\s*copy\b/i.test(plain)) return null;
  const from = FROM_STDIN.exec(plain);
  if (!from) return null;
  const rewritten = sql.slice(0, from.index) + "FROM " + BLOB + sql.slice(from.index + from[0].length);
  const columns = /^\s*copy\s+[^(]*?\(([^)]*)\)\s*from\b/i.exec(plain);  // the column list, if given
  const count = columns ? columns[1].split(",").length : 0;
  const response = Buffer.alloc(3 + 2 * count);  // overall format, column count, each column's format
  const binary = /\bbinary\b/i.test(plain.slice(from.index));
  response.writeInt8(binary ? 1 : 0, 0);
  response.writeInt16BE(count, 1);
  for (let i = 0; i < count; i++) response.writeInt16BE(binary ? 1 : 0, 3 + 2 * i);
  return { sql: rewritten, response: message("G", response) };
}

const copyOf = (msg) => (msg[0] === 0x51 ? copyIn(msg.toString("utf8", 5, msg.length - 1)) : null);

const raise = (code, text) => "DO $rlm$BEGIN RAISE EXCEPTION USING ERRCODE = '" + code + "', MESSAGE = E'" +
  text.replaceAll("\\", "\\\\").replaceAll("'", "''") + "'; END$rlm$";
const REFUSED = raise("feature_not_supported", "COPY FROM STDIN is served by the embedded TimescaleDB only " +
  "as a simple query of one statement; send the COPY alone, or use a TimescaleDB server (RLM_TSDB_DSN)");

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
  // Raw protocol messages in, the backend's raw reply out.
  exec(data) {
    return this.request({ op: "exec", data });
  }
  // A COPY ... FROM '/dev/blob' run as a simple query, with `data` as the blob it reads.
  copy(sql, data) {
    return this.request({ op: "copy", data: query(sql), blob: data }, [data.buffer]);
  }
  request(msg, transfer) {
    if (this.dead) return Promise.reject(new Error("the backend is down"));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
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
    this.copyIn = false;       // the backend itself is in copy-in mode
    this.copying = null;       // a COPY FROM STDIN this server is gathering: {sql, chunks, size, error}
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
    if (this.copying && this.gather()) return;
    if (!this.queue.length) {
      if (this.terminating) this.socket.destroy();
      return;
    }
    const copy = copyOf(this.queue[0]);
    if (copy) {
      this.queuedBytes -= this.queue.shift().length;
      this.copying = { sql: copy.sql, chunks: [], size: 0, error: null };
      this.socket.write(copy.response);
      return this.pump();
    }
    let size = 0, count = 0;
    while (count < this.queue.length && (count === 0 || size + this.queue[count].length <= BATCH_BYTES)) {
      if (count > 0 && copyOf(this.queue[count])) break;  // a COPY starts a batch of its own
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

  // Take queued CopyData into the COPY being gathered; at CopyDone or CopyFail, have the backend
  // run it. True while the client is still sending (nothing else may go to the backend meanwhile).
  gather() {
    const copy = this.copying;
    while (this.queue.length) {
      const msg = this.queue.shift();
      this.queuedBytes -= msg.length;
      const type = msg[0];
      if (type === 0x64) {  // CopyData
        copy.size += msg.length - 5;
        if (copy.size > MAX_MESSAGE) {
          copy.error ??= ["54000", `a COPY of more than ${MAX_MESSAGE} bytes exceeds the embedded TimescaleDB's ` +
            "limit; send it in smaller COPYs or use a TimescaleDB server"];
          copy.chunks = [];
        }
        if (!copy.error) copy.chunks.push(msg.subarray(5));
        continue;
      }
      if (type === 0x48 || type === 0x53) continue;  // Flush and Sync are ignored in copy-in mode
      this.copying = null;
      if (type === 0x66) {  // CopyFail
        copy.error ??= ["57014", "COPY from stdin failed: " + msg.toString("utf8", 5, msg.length - 1)];
      } else if (type !== 0x63) {  // anything but CopyDone
        copy.error ??= ["08P01", `unexpected message type 0x${type.toString(16)} during COPY from stdin`];
      }
      if (copy.error) {  // failed inside the backend, so the transaction fails as a real server's would
        this.run(query(raise(...copy.error)));
      } else {
        const data = new Uint8Array(copy.size);
        let at = 0;
        for (const chunk of copy.chunks) { data.set(chunk, at); at += chunk.length; }
        this.run(null, () => backend.copy(copy.sql, data));
      }
      return true;
    }
    this.socket.resume();
    return true;
  }

  async run(data, send = () => backend.exec(data)) {
    this.busy = true;
    let reply;
    try {
      reply = await send();
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
