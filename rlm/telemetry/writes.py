"""SQL for one batch of items: each table written with execute_values, idempotently.

Event rows use ON CONFLICT DO NOTHING on keys that include time, so a replayed spool never
duplicates. Runs are upserts; a RunFinish that arrives before its RunRecord still lands.
"""
from __future__ import annotations

import re
from dataclasses import fields
from operator import attrgetter
from typing import Iterable

from psycopg2.extras import Json, execute_values

from rlm.events import CodeExecEvent, LLMCallEvent, TextEvent
from rlm.telemetry.records import RunRecord, SampleRecord

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
    "run_finish": "INSERT INTO runs (run_id, status, finished_at, started_at) VALUES %s "
                  "ON CONFLICT (run_id) DO UPDATE SET status = EXCLUDED.status, finished_at = EXCLUDED.finished_at",
    "sample": f"INSERT INTO samples ({', '.join(_SAMPLE_COLS)}) VALUES %s ON CONFLICT DO NOTHING",
    "price": "INSERT INTO model_prices (model, input, cached_input, output) VALUES %s ON CONFLICT (model) DO UPDATE "
             "SET input = EXCLUDED.input, cached_input = EXCLUDED.cached_input, output = EXCLUDED.output, "
             "updated_at = now()",
}
# Parents before children: runs first, their finish last.
ORDER = ("run", "price", "llm_call", "code_execution", "text", "sample", "run_finish")


_GET = {
    "llm_call": attrgetter(*_LLM_COLS),
    "code_execution": attrgetter(*_EXEC_COLS),
    "text": attrgetter(*_TEXT_COLS),
    "run": attrgetter(*_RUN_COLS),
    "sample": attrgetter(*_SAMPLE_COLS),
    "run_finish": attrgetter("run_id", "status", "finished_at", "finished_at"),
    "price": attrgetter("model", "input", "cached_input", "output"),
}
_JSON_AT = {"run": _RUN_COLS.index("config"), "sample": _SAMPLE_COLS.index("expected")}
# Upserts may not touch one row twice in a statement: keep the last item per key.
_UNIQUE = ("run", "run_finish", "price")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_TEXT_AT = _TEXT_COLS.index("text")


def _escape_char(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by errors="surrogateescape"
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def pg_text(text: str) -> str:
    """`text` as Postgres can hold it: NUL and unpaired surrogates written as visible escapes
    (\\x00, \\xff for an undecodable byte, \\udxxx); everything else unchanged."""
    return _UNSTORABLE.sub(_escape_char, text) if _UNSTORABLE.search(text) else text


def _row(kind: str, item) -> tuple:
    row = _GET[kind](item)
    if kind == "text":
        row = row[:_TEXT_AT] + (pg_text(row[_TEXT_AT]),) + row[_TEXT_AT + 1:]
    if kind in _JSON_AT:
        at = _JSON_AT[kind]
        row = row[:at] + (Json(row[at]),) + row[at + 1:]
    return row


def write_batch(conn, items: Iterable, page_size: int = 1000) -> int:
    """Write `items` in one transaction (the caller commits); return how many were sent."""
    groups: dict[str, list[tuple]] = {}
    for item in items:
        if item.kind not in _GET:  # a kind with no table yet (trajectory texts) is not this writer's
            continue
        groups.setdefault(item.kind, []).append(_row(item.kind, item))
    with conn.cursor() as cur:
        for kind in ORDER:
            rows = groups.get(kind)
            if rows:
                if kind in _UNIQUE:
                    rows = list({r[0]: r for r in rows}.values())
                execute_values(cur, _SQL[kind], rows, page_size=page_size)
    return sum(len(rows) for rows in groups.values())
