"""Each ingest path stores exactly what it was given: COPY straight into the hypertable (new
rows), COPY through staging (a replay), and JSON arrays (short batches), on both servers."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from rlm.events import LLMCallEvent, TextEvent
from rlm.telemetry import SampleRecord, connect
from rlm.telemetry.encoding import COLUMNS, copy_csv, json_rows
from rlm.telemetry.records import pg_safe
from rlm.telemetry.writes import COPY_MIN_ROWS, copy_rows, insert_json, write_batch

ODD_TEXT = ["plain", "", "tab\tand\nnewline\r\n", "back\\slash \\N", "\\N", "nul\x00byte", "lone \udcff surrogate",
            "ünïcødé ✓ \u2028", "quote ' \" , ;", "None"]
ODD_FLOATS = [0.0, 1e-300, float("nan"), float("inf"), float("-inf"), 12345.678]  # cost_usd: aggregates take them


def _calls(run_id: str, n: int) -> list[LLMCallEvent]:
    t0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
    return [LLMCallEvent(time=t0 + timedelta(milliseconds=i), run_id=run_id, query_id=ODD_TEXT[i % len(ODD_TEXT)],
                         call_id=f"{run_id}-{i}", parent_call_id=None if i % 3 else f"{run_id}-0", depth=i % 3,
                         iteration=None if i % 4 == 0 else i, role="sub", model="m",
                         latency_ms=i / 7, cost_usd=ODD_FLOATS[i % len(ODD_FLOATS)],
                         ttft_ms=None if i % 2 else 2.5,
                         error_type=ODD_TEXT[(i + 3) % len(ODD_TEXT)], http_status=200) for i in range(n)]


def _stored_calls(dsn: str, run_id: str) -> dict[str, tuple]:
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT call_id, time, query_id, parent_call_id, iteration, cost_usd, ttft_ms, error_type "
                    "FROM llm_calls WHERE run_id = %s", (run_id,))
        return {row[0]: row[1:] for row in cur.fetchall()}


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _assert_stored(dsn: str, events: list[LLMCallEvent]) -> None:
    stored = _stored_calls(dsn, events[0].run_id)
    assert len(stored) == len(events)
    for e in events:
        time, query_id, parent, iteration, cost, ttft, error_type = stored[e.call_id]
        assert (time, query_id, parent, iteration, ttft) == (e.time, pg_safe(e.query_id), e.parent_call_id,
                                                             e.iteration, e.ttft_ms)
        assert error_type == pg_safe(e.error_type)
        assert _same_float(cost, e.cost_usd)


@pytest.mark.parametrize("n", [7, 3 * COPY_MIN_ROWS], ids=["json", "copy"])
def test_odd_text_and_non_finite_floats_round_trip_on_every_path(dsn, n):
    events = _calls(f"odd-values-{n}", n)
    with connect(dsn) as conn:
        assert write_batch(conn, events) == n
    _assert_stored(dsn, events)
    with connect(dsn) as conn:  # a replay adds nothing and changes nothing
        write_batch(conn, events)
    _assert_stored(dsn, events)


def test_new_rows_copy_straight_in_and_a_replay_goes_through_staging(dsn):
    events = _calls("copy-paths", 200)
    cols = COLUMNS["llm_call"]
    with connect(dsn) as conn, conn.cursor() as cur:
        assert copy_rows(cur, "llm_calls", cols, copy_csv("llm_call", events[:120])) is True
        cur.execute("SELECT to_regclass('pg_temp.rlm_stage_llm_calls')")
        assert cur.fetchone() == (None,)  # the direct path never made a staging table
        # 80 new rows behind 120 old ones: the direct COPY fails on the first old key, staging takes all.
        assert copy_rows(cur, "llm_calls", cols, copy_csv("llm_call", events)) is False
        cur.execute("SELECT count(*) FROM llm_calls WHERE run_id = 'copy-paths'")
        assert cur.fetchone() == (200,)
        # The transaction survived the failed COPY: later statements in it still work.
        cur.execute("SELECT count(DISTINCT call_id) FROM llm_calls WHERE run_id = 'copy-paths'")
        assert cur.fetchone() == (200,)
    _assert_stored(dsn, events)


def test_json_statements_are_bounded_by_bytes_and_a_huge_row_goes_alone(dsn):
    t0 = datetime(2026, 6, 2, tzinfo=timezone.utc)
    texts = [TextEvent(time=t0, run_id="json-bytes", query_id="q", item_id=f"i{i}", field="reply",
                       text="x" * 70_000, chars=70_000) for i in range(40)]
    texts.append(TextEvent(time=t0, run_id="json-bytes", query_id="q", item_id="huge", field="reply",
                           text="y\x00" * 1_000_000, chars=2_000_000))  # 2 MB of text, past the byte bound
    with connect(dsn) as conn, conn.cursor() as cur:
        statements = insert_json(cur, "trajectory_texts", COLUMNS["text"], json_rows("text", texts),
                                 page_size=1000, max_bytes=1 << 20)
        cur.execute("SELECT count(*), sum(length(text)) FILTER (WHERE item_id <> 'huge'), "
                    "max(text) FILTER (WHERE item_id = 'huge') FROM trajectory_texts WHERE run_id = 'json-bytes'")
        count, small_chars, huge = cur.fetchone()
    assert statements == 4  # 14 + 14 + 12 rows of 70 KB, then the huge one alone
    assert (count, small_chars) == (41, 40 * 70_000)
    assert huge == pg_safe("y\x00" * 1_000_000)


def test_sample_rows_keep_their_json_expected_value(dsn):
    values = ["42", 42, [1, "two", None], {"a": {"b": [1.5, "ü"]}}, None, "nul\x00"]
    samples = [SampleRecord(run_id="json-samples", query_id=f"q{i}", expected=v, answer=f"a{i}", score=0.5)
               for i, v in enumerate(values)]
    with connect(dsn) as conn:
        write_batch(conn, samples)
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT query_id, expected, answer, score FROM samples WHERE run_id = 'json-samples'")
        stored = {row[0]: row[1:] for row in cur.fetchall()}
    for i, v in enumerate(values):
        assert stored[f"q{i}"] == (pg_safe(v), f"a{i}", 0.5)


@pytest.mark.parametrize("conforming", ["on", "off"])
def test_json_statements_quote_right_whatever_the_string_literal_setting(dsn, conforming):
    run_id = f"json-quoting-{conforming}"
    t0 = datetime(2026, 6, 3, tzinfo=timezone.utc)
    texts = [TextEvent(time=t0, run_id=run_id, query_id="q", item_id=f"i{i}", field="code", text=text, chars=len(text))
             for i, text in enumerate(["back\\slash \\n \\' quote ' \"", "\\\\", "''", "E'x'", "\\u0041"])]
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"SET standard_conforming_strings = {conforming}")
        insert_json(cur, "trajectory_texts", COLUMNS["text"], json_rows("text", texts), page_size=1000,
                    max_bytes=1 << 20)
        cur.execute("SELECT item_id, text FROM trajectory_texts WHERE run_id = %s", (run_id,))
        stored = dict(cur.fetchall())
    assert stored == {t.item_id: t.text for t in texts}
