// The PGlite backend of the embedded server, in a worker thread so that the server's event loop
// keeps accepting and greeting clients while a long statement runs. It executes framed protocol
// messages one batch at a time, in order, and answers each with the backend's raw reply; a COPY
// FROM '/dev/blob' is run with the data the server gathered from its client as the blob.
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";
import { timescaledb } from "@electric-sql/pglite/timescaledb";

const db = await PGlite.create(workerData.data, { extensions: { timescaledb } });
await db.exec("CREATE EXTENSION IF NOT EXISTS timescaledb;");
// Reopening a data directory does not load the extension's library by itself: without this,
// hypertable inserts fail ("invalid INSERT on the root table", license errors on aggregates).
await db.exec("LOAD 'timescaledb';");

function message(type, body) {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, "latin1");
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

// One handshake at start-up: its ParameterStatus messages are what every client is greeted with.
function handshake() {
  const params = Buffer.from("user\0postgres\0database\0postgres\0\0");
  const startup = Buffer.alloc(8 + params.length);
  startup.writeInt32BE(startup.length, 0);
  startup.writeInt32BE(196608, 4);
  params.copy(startup, 8);
  db.execProtocolRawSync(startup);  // PGlite asks for an md5 password and accepts any
  const reply = Buffer.from(db.execProtocolRawSync(message("p", Buffer.from("md5\0"))));
  const status = [];
  for (let at = 0; at < reply.length; ) {
    const length = reply.readInt32BE(at + 1);
    if (reply[at] === 0x53) {  // 'S' ParameterStatus: name\0value\0
      const [name, value] = reply.subarray(at + 5, at + 1 + length).toString("utf8").split("\0");
      status.push([name, value]);
    }
    at += 1 + length;
  }
  return status;
}

const status = handshake();
// PGlite starts at client_min_messages = debug3, which floods every client with DEBUG notices.
await db.exec("SET client_min_messages TO notice;");

// In PGlite a SET also moves the value RESET returns to, so DISCARD ALL cannot undo a client's
// SET: the session is put back by comparing every user-settable setting with its value now.
const SKIP = ["role", "session_authorization", "transaction_isolation", "transaction_read_only",
  "transaction_deferrable"];
const settings = await db.query("SELECT name, current_setting(name) AS value FROM pg_settings " +
  "WHERE context IN ('user', 'superuser') AND NOT (name = ANY($1))", [SKIP]);
const literal = (text) => "'" + text.replaceAll("'", "''") + "'";
const restore = "SELECT set_config(name, value, false) FROM (VALUES " +
  settings.rows.map((r) => `(${literal(r.name)}, ${literal(r.value)})`).join(", ") +
  ") AS b(name, value) WHERE current_setting(name) IS DISTINCT FROM value";

parentPort.postMessage({ op: "ready", status, restore });

// Requests run strictly one after another; each reply is copied out of PGlite's reused buffer.
let chain = Promise.resolve();
parentPort.on("message", (request) => {
  chain = chain.then(async () => {
    if (request.op === "exec" || request.op === "copy") {
      // A copy reads its data from /dev/blob, which PGlite serves from the blob it was handed.
      if (request.op === "copy") await db._handleBlob(new Blob([request.blob]));
      let reply;
      try {
        reply = db.execProtocolRawSync(request.data).slice();
      } finally {
        if (request.op === "copy") await db._cleanupBlob();
      }
      parentPort.postMessage({ op: "reply", id: request.id, data: reply }, [reply.buffer]);
    } else if (request.op === "close") {
      await db.close();  // flushes the data directory
      parentPort.postMessage({ op: "closed" });
    }
  });
});
