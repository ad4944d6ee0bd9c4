"""Schema migrations: numbered SQL files applied once each, tracked in schema_version.

Each migration runs in its own transaction together with its schema_version row, under an
advisory lock, so concurrent starts and repeated calls are harmless.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from rlm.telemetry.aggregates import refresh_aggregates
from rlm.telemetry.connection import connect, endpoint
from rlm.telemetry.errors import TelemetryError, TimescaleMissingError

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).parent / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
_LOCK_KEY = 7_146_212_001  # pg_advisory_xact_lock key of rlm-evals migrations
REFRESH_MARK = "-- rlm: refresh aggregates"

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def refreshes_aggregates(self) -> bool:
        """It remakes an aggregate, to be refreshed over all time once committed (a refresh
        cannot run inside the migration's transaction)."""
        return REFRESH_MARK in self.sql


def migrations() -> list[Migration]:
    """Every migration shipped with the package, in order."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = re.fullmatch(r"(\d+)_.+\.sql", path.name)
        if match:
            found.append(Migration(int(match.group(1)), path.stem, path))
    return found


def latest_version() -> int:
    return migrations()[-1].version


def current_version(conn) -> int:
    """The highest applied version, 0 for an empty database."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_version') IS NOT NULL")
        if not cur.fetchone()[0]:
            return 0
        cur.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        return int(cur.fetchone()[0])


def check_timescaledb(conn, dsn: str) -> None:
    """Raise TimescaleMissingError when the server cannot load the timescaledb extension."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        if cur.fetchone() is None:
            host, port = endpoint(dsn)
            raise TimescaleMissingError(
                f"the PostgreSQL server at {host}:{port} has no timescaledb extension; install TimescaleDB "
                "there (https://docs.timescale.com/self-hosted/latest/install/), or unset RLM_TSDB_DSN to "
                "use the embedded TimescaleDB")


def migrate(dsn: str, *, target: int | None = None) -> list[int]:
    """Apply the migrations `dsn` lacks (up to `target`); return the versions applied now."""
    applied: list[int] = []
    refresh = False
    with connect(dsn) as conn:
        check_timescaledb(conn, dsn)
        for migration in migrations():
            if target is not None and migration.version > target:
                break
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                cur.execute(_VERSION_TABLE)
                cur.execute("SELECT 1 FROM schema_version WHERE version = %s", (migration.version,))
                if cur.fetchone() is not None:
                    conn.commit()
                    continue
                log.info("applying migration %s", migration.name)
                try:
                    cur.execute(migration.sql)
                except psycopg2.Error as exc:
                    conn.rollback()
                    raise TelemetryError(f"migration {migration.name} failed: {exc}".strip()) from exc
                cur.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                            (migration.version, migration.name))
            conn.commit()
            applied.append(migration.version)
            refresh = refresh or migration.refreshes_aggregates
        if refresh:  # a new store has nothing to refresh (and its policy jobs are starting)
            with conn.cursor() as cur:
                cur.execute("SELECT EXISTS (SELECT 1 FROM llm_calls) OR EXISTS (SELECT 1 FROM code_executions)")
                refresh = cur.fetchone()[0]
            conn.commit()
    if refresh:
        refresh_aggregates(dsn)
    return applied
