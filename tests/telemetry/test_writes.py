"""Writes take any row the schema takes, by COPY or byte-bounded JSON arrays and INSERTs, and a
replay writes nothing twice."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rlm.events import LLMCallEvent, TextEvent
from rlm.telemetry import Recorder, SampleRecord, connect
from rlm.telemetry.writes import (COPY_MIN_ROWS, MAX_COPY_CHARS, insert_rows, prepare_batch, send_batch,
                                  write_batch)

TRICKY = ["tab\there", "new\nline\r\n", "back\\slash \\N", "", None, "quote ' \" , ;", "ünïcødé ✓"]


def _events(run_id: str, n: int) -> list[LLMCallEvent]:
    t0 = datetime(2026, 5, 1, tzinfo=timezone.utc)
    return [LLMCallEvent(time=t0 + timedelta(seconds=i), run_id=run_id, query_id="q", call_id=f"{run_id}-{i}",
                         parent_call_id=None, depth=0, iteration=None, role="root", model="m",
                         latency_ms=i / 3, ttft_ms=None if i % 2 else 1.5, cost_usd=None,
                         error_type=TRICKY[i % len(TRICKY)]) for i in range(n)]


def test_tricky_text_survives_and_a_replay_adds_nothing(dsn):
    events = _events("tricky-writes", 3 * COPY_MIN_ROWS)  # enough rows for the COPY path
    for _ in range(2):
        with connect(dsn) as conn:
            assert write_batch(conn, events) == len(events)
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT call_id, error_type, ttft_ms, iteration, latency_ms FROM llm_calls "
                    "WHERE run_id = 'tricky-writes'")
        stored = {row[0]: row[1:] for row in cur.fetchall()}
    assert len(stored) == len(events)
    for e in events:
        assert stored[e.call_id] == (e.error_type, e.ttft_ms, None, e.latency_ms)


def test_a_batch_of_large_rows_becomes_statements_of_bounded_size(dsn):
    rows = [(i, "x" * 70_000) for i in range(40)]  # 2.8 MB in all
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE wide (id int PRIMARY KEY, body text)")
        statements = insert_rows(cur, "INSERT INTO wide (id, body) VALUES %s ON CONFLICT DO NOTHING", rows,
                                 page_size=1000, max_bytes=1 << 20)
        cur.execute("SELECT count(*), sum(length(body)) FROM wide")
        assert cur.fetchone() == (40, 40 * 70_000)
    assert statements == 3


def test_a_batch_of_huge_texts_becomes_copies_of_bounded_size(dsn):
    """300 trajectory texts of 70,000 characters (21 MB, one with multibyte text and a newline)
    in one batch: cut into COPYs of at most MAX_COPY_CHARS, so no COPY nears the embedded
    server's 256 MB limit however large a batch grows; every text is stored whole."""
    t0 = datetime(2026, 5, 2, tzinfo=timezone.utc)
    bodies = [("ünï\n" if i == 7 else "") + f"{i:>6} " + "y" * 69_993 for i in range(300)]
    texts = [TextEvent(time=t0 + timedelta(seconds=i), run_id="huge-texts", query_id="q", item_id=f"c{i}",
                       field="prompt", text=body, chars=len(body)) for i, body in enumerate(bodies)]
    batch = prepare_batch(texts)
    copies = [payload for kind, path, payload in batch.parts if path == "copy"]
    assert len(copies) == 2 and all(len(c) <= MAX_COPY_CHARS for c in copies)
    with connect(dsn) as conn:
        assert send_batch(conn, batch) == len(texts)
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT item_id, text FROM trajectory_texts WHERE run_id = 'huge-texts'")
        assert dict(cur.fetchall()) == {t.item_id: t.text for t in texts}


def test_a_70k_character_answer_goes_through_the_recorder(dsn, tmp_path):
    answer = "The answer is " + "a long one. " * 5_840
    assert len(answer) > 70_000
    with Recorder(dsn, tmp_path / "spool") as rec:
        for e in _events("long-answer", 500):
            rec.emit(e)
        rec.record_sample(SampleRecord(run_id="long-answer", query_id="q", task="niah", answer=answer))
    assert rec.spooled == 0
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT answer FROM samples WHERE run_id = 'long-answer'")
        assert cur.fetchone() == (answer,)
        cur.execute("SELECT count(*) FROM llm_calls WHERE run_id = 'long-answer'")
        assert cur.fetchone() == (500,)
