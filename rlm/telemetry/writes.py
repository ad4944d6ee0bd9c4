"""SQL for one batch of items: each table written idempotently, by the fastest path the server allows.

Event rows use ON CONFLICT DO NOTHING on keys that include time, so a replayed spool never
duplicates. Runs are upserts; a RunFinish that arrives before its RunRecord still lands.

Paths: event rows go by COPY straight into the hypertable inside a savepoint, on either server
(the embedded one serves COPY FROM STDIN itself); if any row is already there (a replayed spool),
it rolls back to the savepoint and COPYs into a per-connection staging table, then INSERT ...
SELECT ... ON CONFLICT DO NOTHING (COPY itself cannot skip duplicates). Short batches and sample
rows go as JSON arrays read by json_populate_recordset (one statement, no COPY round trips), cut
by rows and by bytes: a batch of large rows (a long model answer) becomes several statements of
bounded size, and one huge row goes alone. The few upserts (runs, prices) are multi-row INSERTs.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, Iterable

import psycopg2.errors
from psycopg2.extras import Json

from rlm.events import CodeExecEvent, LLMCallEvent, TextEvent
from rlm.telemetry.encoding import copy_csv_lines, json_rows
from rlm.telemetry.records import RunRecord, SampleRecord, pg_safe

# About 1 MB per INSERT: past it the embedded server gains nothing, and a statement stays far
# below its message limit however large one row is.
MAX_STATEMENT_BYTES = 1 << 20
_COPY_CHUNK = 1 << 18  # bytes per read of the COPY stream (psycopg2 reads 8 KB by default)
# Characters per COPY (up to 4 bytes each): a batch of huge rows becomes several COPYs, each far
# below the embedded server's 256 MB limit, and one huge row goes alone.
MAX_COPY_CHARS = 16 << 20
COPY_MIN_ROWS = 50  # fewer rows go as one JSON statement: a COPY's round trips cost more than they save

_LLM_COLS = [f.name for f in fields(LLMCallEvent)]
_EXEC_COLS = [f.name for f in fields(CodeExecEvent)]
_TEXT_COLS = [f.name for f in fields(TextEvent)]
_SAMPLE_COLS = [f.name for f in fields(SampleRecord)]
_RUN_COLS = [f.name for f in fields(RunRecord)]

_SQL = {
    "llm_call": f"INSERT INTO llm_calls ({', '.join(_LLM_COLS)}) VALUES %s ON CONFLICT DO NOTHING",
    "code_execution": f"INSERT INTO code_executions ({', '.join(_EXEC_COLS)}) VALUES %s ON CONFLICT DO NOTHING",
    "text": f"INSERT INTO trajectory_texts ({', '.join(_TEXT_COLS)}) VALUES %s ON CONFLICT DO NOTHING",
    "run": f"INSERT INTO runs ({', '.join(_RUN_COLS)}) VALUES %s ON CONFLICT (run_id) DO UPDATE SET "
           "started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, status = EXCLUDED.status, "
           "config = EXCLUDED.config, git_sha = EXCLUDED.git_sha, sweep_id = EXCLUDED.sweep_id, "
           "label = EXCLUDED.label",
    "run_finish": "INSERT INTO runs (run_id, status, finished_at, error, started_at) VALUES %s "
                  "ON CONFLICT (run_id) DO UPDATE SET status = EXCLUDED.status, finished_at = EXCLUDED.finished_at, "
                  "error = EXCLUDED.error",
    "sample": f"INSERT INTO samples ({', '.join(_SAMPLE_COLS)}) VALUES %s ON CONFLICT DO NOTHING",
    "price": "INSERT INTO model_prices (model, input, cached_input, output) VALUES %s ON CONFLICT (model) DO UPDATE "
             "SET input = EXCLUDED.input, cached_input = EXCLUDED.cached_input, output = EXCLUDED.output, "
             "updated_at = now()",
}
# Parents before children: runs first, their finish last.
ORDER = ("run", "price", "llm_call", "code_execution", "text", "sample", "run_finish")
# Event tables that take COPY: kind -> (table, columns).
_COPY = {"llm_call": ("llm_calls", _LLM_COLS), "code_execution": ("code_executions", _EXEC_COLS),
         "text": ("trajectory_texts", _TEXT_COLS)}
# Tables written from JSON arrays (short batches of events, and samples).
_RECORDSET = {**_COPY, "sample": ("samples", _SAMPLE_COLS)}


_GET = {
    "llm_call": attrgetter(*_LLM_COLS),
    "code_execution": attrgetter(*_EXEC_COLS),
    "text": attrgetter(*_TEXT_COLS),
    "run": attrgetter(*_RUN_COLS),
    "sample": attrgetter(*_SAMPLE_COLS),
    "run_finish": attrgetter("run_id", "status", "finished_at", "error", "finished_at"),
    "price": attrgetter("model", "input", "cached_input", "output"),
}
_JSON_AT = {"run": _RUN_COLS.index("config"), "sample": _SAMPLE_COLS.index("expected")}
# Upserts may not touch one row twice in a statement: keep the last item per key.
_UNIQUE = ("run", "run_finish", "price")


def _row(kind: str, item) -> tuple:
    row = tuple(pg_safe(v) for v in _GET[kind](item))  # any text is data: NUL and lone surrogates escaped
    if kind in _JSON_AT:
        at = _JSON_AT[kind]
        row = row[:at] + (Json(row[at]),) + row[at + 1:]
    return row


@dataclass
class PreparedBatch:
    """A batch encoded, ready to send: encoding is Python work, sending is mostly the server's,
    so a writer can encode one batch while another is sent."""

    items: list
    parts: list[tuple[str, str, Any]] = field(default_factory=list)  # (kind, "copy" | "json" | "insert", payload)


def prepare_batch(items: Iterable) -> PreparedBatch:
    """Group `items` by table (parents first) and encode each group for its path."""
    items = list(items)
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(item.kind, []).append(item)
    batch = PreparedBatch(items)
    for kind in ORDER:
        group = groups.get(kind)
        if not group:
            continue
        if kind in _COPY and len(group) >= COPY_MIN_ROWS:
            lines = copy_csv_lines(kind, group)
            for chunk in _chunks(lines, len(lines), MAX_COPY_CHARS):
                batch.parts.append((kind, "copy", "\n".join(chunk) + "\n"))
        elif kind in _RECORDSET:
            batch.parts.append((kind, "json", json_rows(kind, group)))
        else:
            rows = [_row(kind, item) for item in group]
            if kind in _UNIQUE:
                rows = list({r[0]: r for r in rows}.values())
            batch.parts.append((kind, "insert", rows))
    return batch


def send_batch(conn, batch: PreparedBatch, page_size: int = 1000, max_bytes: int = MAX_STATEMENT_BYTES) -> int:
    """Send a prepared batch in the current transaction (the caller commits); return its size."""
    with conn.cursor() as cur:
        for kind, path, payload in batch.parts:
            if path == "copy":
                copy_rows(cur, *_COPY[kind], payload)
            elif path == "json":
                insert_json(cur, *_RECORDSET[kind], payload, page_size, max_bytes)
            else:
                insert_rows(cur, _SQL[kind], payload, page_size, max_bytes)
    return len(batch.items)


def write_batch(conn, items: Iterable, page_size: int = 1000, max_bytes: int = MAX_STATEMENT_BYTES) -> int:
    """Write `items` in one transaction (the caller commits); return how many were sent.

    Statements hold at most `page_size` rows and about `max_bytes` bytes (a larger row goes alone).
    """
    return send_batch(conn, prepare_batch(items), page_size, max_bytes)


def insert_json(cur, table: str, columns: list[str], rows: list[bytes], page_size: int, max_bytes: int) -> int:
    """Insert JSON objects (`rows`, keyed by column) as JSON arrays bounded by rows and bytes."""
    cols = ", ".join(columns)
    head = f"INSERT INTO {table} ({cols}) SELECT {cols} FROM json_populate_recordset(NULL::{table}, ".encode()
    tail = b") ON CONFLICT DO NOTHING"
    statements = 0
    for chunk in _chunks(rows, page_size, max_bytes):
        cur.execute(head + _literal(b"[" + b",".join(chunk) + b"]") + tail)
        statements += 1
    return statements


def _literal(text: bytes) -> bytes:
    """`text` (UTF-8, no NUL) as an escape string literal, quoted in bytes (no decode and re-encode
    of megabytes, as a str parameter would cost). E'' reads the same whatever the session's
    standard_conforming_strings, which a server need not report when a client sets it."""
    return b"E'" + text.replace(b"\\", b"\\\\").replace(b"'", b"''") + b"'"


def _chunks(parts: list, page_size: int, max_bytes: int) -> Iterable[list]:
    """`parts` (bytes or str) in runs of at most `page_size` items and about `max_bytes` of length
    (a longer item alone)."""
    chunk: list[bytes] = []
    size = 0
    for part in parts:
        if chunk and (len(chunk) >= page_size or size + len(part) > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(part)
        size += len(part) + 1
    if chunk:
        yield chunk


def insert_rows(cur, sql: str, rows: list[tuple], page_size: int, max_bytes: int) -> int:
    """Run `sql` (with one `VALUES %s`) over `rows` as multi-row INSERTs bounded by rows and bytes."""
    head, tail = (part.encode() for part in sql.split("%s"))
    template = b"(" + b",".join([b"%s"] * len(rows[0])) + b")"
    statements = 0
    for chunk in _chunks([cur.mogrify(template, row) for row in rows], page_size, max_bytes):
        cur.execute(head + b",".join(chunk) + tail)
        statements += 1
    return statements


def copy_rows(cur, table: str, columns: list[str], text: str) -> bool:
    """COPY `text` (CSV) into `table`; return False if some rows were there already.

    New rows (the usual case) go straight into the hypertable. If any row's key exists (a replay),
    the COPY is rolled back to its savepoint and the rows go through a temporary staging table,
    from which only what is new is inserted.
    """
    cols = ", ".join(columns)
    data = text.encode("utf-8")
    cur.execute("SAVEPOINT rlm_copy")
    try:
        cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)", io.BytesIO(data), size=_COPY_CHUNK)
    except psycopg2.errors.UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT rlm_copy")
    else:
        cur.execute("RELEASE SAVEPOINT rlm_copy")
        return True
    cur.execute("RELEASE SAVEPOINT rlm_copy")
    stage = f"rlm_stage_{table}"
    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    cur.copy_expert(f"COPY {stage} ({cols}) FROM STDIN (FORMAT csv)", io.BytesIO(data), size=_COPY_CHUNK)
    cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT DO NOTHING")
    cur.execute(f"TRUNCATE {stage}")
    return False
