// Embedded TimescaleDB: PGlite (WASM Postgres) with the TimescaleDB extension, served over the
// Postgres wire protocol on loopback. Started by rlm/telemetry/embedded.py, one per machine home.
// Usage: node server.mjs --data DIR --port PORT --ready FILE
import { writeFileSync, renameSync } from "node:fs";
import { parseArgs } from "node:util";
import { PGlite } from "@electric-sql/pglite";
import { timescaledb } from "@electric-sql/pglite/timescaledb";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

const { values } = parseArgs({
  options: {
    data: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    ready: { type: "string" },
    "queue-timeout-ms": { type: "string", default: "300000" },
  },
});

const db = await PGlite.create(values.data, { extensions: { timescaledb } });
await db.exec("CREATE EXTENSION IF NOT EXISTS timescaledb;");
// Reopening a data directory does not load the extension's library by itself: without this,
// hypertable inserts fail ("invalid INSERT on the root table", license errors on aggregates).
await db.exec("LOAD 'timescaledb';");
const server = new PGLiteSocketServer({
  db,
  host: values.host,
  port: Number(values.port),
  // A second client waits while one is served: long enough for a slow batch or a report.
  connectionQueueTimeout: Number(values["queue-timeout-ms"]),
});
server.addEventListener("error", (e) => console.error("socket server error:", e.detail));
await server.start();

// The ready file appears atomically once the port accepts connections.
const info = { pid: process.pid, host: values.host, port: Number(values.port) };
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
    await server.stop();
    await db.close();  // flushes the data directory
  } finally {
    process.exit(0);
  }
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
