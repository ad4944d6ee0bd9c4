"""Migrations are idempotent, and a database at the previous version upgrades."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta, timezone

import psycopg2.extensions

from rlm.telemetry import connect, current_version, latest_version, maintain, migrate, start_embedded, stop_embedded
from rlm.telemetry.migrate import migrations
from rlm.telemetry.writes import write_batch
from tests.telemetry.helpers import admin, count, synthetic_events

SHIPPED = [m.version for m in migrations()]

_CATALOG = """
SELECT (SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'),
       (SELECT array_agg(job_id ORDER BY job_id) FROM timescaledb_information.jobs),
       (SELECT array_agg(version ORDER BY version) FROM schema_version)
"""


def _catalog(dsn):
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(_CATALOG)
        return cur.fetchone()


def test_applying_twice_changes_nothing(dsn):
    before = _catalog(dsn)
    assert migrate(dsn) == []
    assert _catalog(dsn) == before
    assert before[2] == SHIPPED


def test_previous_version_upgrades(tmp_path):
    home = tmp_path / "old-home"
    dsn = start_embedded(home)
    try:
        assert migrate(dsn, target=SHIPPED[-2]) == SHIPPED[:-1]
        with connect(dsn) as conn:
            assert current_version(conn) == SHIPPED[-2]
        assert migrate(dsn) == [latest_version()]
        with connect(dsn) as conn:
            assert current_version(conn) == latest_version()
    finally:
        stop_embedded(home)


def _fresh_database(tsdb_backend: str, request, tmp_path) -> str:
    """An empty database on the backend under test (a new embedded home, or a new native database)."""
    if tsdb_backend == "embedded":
        home = tmp_path / "fresh-home"
        request.addfinalizer(lambda: stop_embedded(home))
        return start_embedded(home)
    server = request.getfixturevalue("native_dsn")
    name = f"rlm_upgrade_{uuid.uuid4().hex[:12]}"
    admin(server, f"CREATE DATABASE {name}")
    request.addfinalizer(lambda: admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    return psycopg2.extensions.make_dsn(server, dbname=name)


def test_new_keys_upgrade_a_store_with_compressed_chunks_and_replays_stay_idempotent(tsdb_backend, request, tmp_path):
    """Migration 011 moves the event tables' primary keys to (run_id, query_id, id, time) under
    rows already stored, some of them compressed; afterwards a replay of those rows adds none.
    Migration 012 remakes the latency histogram with every stored call in it."""
    dsn = _fresh_database(tsdb_backend, request, tmp_path)
    assert migrate(dsn, target=10)[-1] == 10
    events = synthetic_events("upgrade-keys", n_queries=4)  # January 2026: past the 30-day compression
    with connect(dsn) as conn:
        write_batch(conn, events)
    maintain(dsn, force=True)
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM timescaledb_information.chunks "
                    "WHERE hypertable_name IN ('llm_calls', 'code_executions') AND is_compressed")
        assert cur.fetchone()[0] >= 2
    assert 11 in migrate(dsn)
    calls = sum(e.kind == "llm_call" for e in events)
    assert count(dsn, "llm_calls", "upgrade-keys") == calls
    with connect(dsn) as conn:  # the whole spool again, into compressed chunks: nothing twice
        write_batch(conn, events)
        write_batch(conn, events[:3])
    assert count(dsn, "llm_calls", "upgrade-keys") == calls
    assert count(dsn, "code_executions", "upgrade-keys") == len(events) - calls
    recent = synthetic_events("upgrade-recent", n_queries=1)[0]
    with connect(dsn) as conn:  # a call inside the policy's 7-day window: its refresh moves the watermark
        write_batch(conn, [dataclasses.replace(recent, time=datetime.now(timezone.utc) - timedelta(hours=1))])
    maintain(dsn, force=True)
    with connect(dsn) as conn, conn.cursor() as cur:
        # 012 remade the latency histogram and refreshed it over all time: January is in it.
        cur.execute("SELECT sum(calls) FROM llm_latency_by_run_model WHERE run_id = 'upgrade-keys'")
        assert cur.fetchone()[0] == calls
        cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'llm_calls' ORDER BY indexname")
        assert [d.split(" USING ")[1] for d in (row[0] for row in cur.fetchall())] == [
            "btree (run_id, query_id, call_id, \"time\")", "brin (\"time\")"]


def test_aggregates_are_real_time(dsn):
    """Rows not yet materialised are read from the raw table: no report waits for a refresh."""
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates "
                    "ORDER BY view_name")
        assert cur.fetchall() == [("code_executions_1m", False), ("llm_calls_1m", False),
                                  ("llm_latency_hist_1m", False)]
