"""Migrations are idempotent, and a database at the previous version upgrades."""
from __future__ import annotations

from rlm.telemetry import connect, current_version, latest_version, migrate, start_embedded, stop_embedded

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
    assert before[2] == list(range(1, latest_version() + 1))


def test_previous_version_upgrades(tmp_path):
    home = tmp_path / "old-home"
    dsn = start_embedded(home)
    try:
        assert migrate(dsn, target=latest_version() - 1) == list(range(1, latest_version()))
        with connect(dsn) as conn:
            assert current_version(conn) == latest_version() - 1
        assert migrate(dsn) == [latest_version()]
        with connect(dsn) as conn:
            assert current_version(conn) == latest_version()
    finally:
        stop_embedded(home)
