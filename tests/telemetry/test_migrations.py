"""Migrations are idempotent, and a database at the previous version upgrades."""
from __future__ import annotations

from rlm.telemetry import connect, current_version, latest_version, migrate, start_embedded, stop_embedded
from rlm.telemetry.migrate import migrations

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


def test_aggregates_are_real_time(dsn):
    """Rows not yet materialised are read from the raw table: no report waits for a refresh."""
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates "
                    "ORDER BY view_name")
        assert cur.fetchall() == [("code_executions_1m", False), ("llm_calls_1m", False),
                                  ("llm_latency_hist_1m", False)]
