"""Explicit refresh of the continuous aggregates.

Policies refresh them in the background on a TimescaleDB server, but the embedded build may
never run background jobs, so reports call `refresh_aggregates` first.
"""
from __future__ import annotations

import logging
from datetime import datetime

from rlm.telemetry.connection import connect

log = logging.getLogger(__name__)

AGGREGATES = ("llm_calls_1m", "llm_latency_hist_1m", "code_executions_1m")


def refresh_aggregates(db, start: datetime | None = None, end: datetime | None = None) -> None:
    """Refresh every continuous aggregate over [start, end) (None = unbounded).

    `db` is a DSN or an open connection. A refresh cannot run inside a transaction, and
    psycopg2 opens one for every `with conn:` block (even in autocommit), so pass a connection
    that is not inside such a block; with a DSN a connection of its own is used.
    """
    if isinstance(db, str):
        conn = connect(db)
        try:
            conn.autocommit = True
            _refresh(conn, start, end)
        finally:
            conn.close()
        return
    db.commit()
    was, db.autocommit = db.autocommit, True
    try:
        _refresh(db, start, end)
    finally:
        db.autocommit = was


def _refresh(conn, start: datetime | None, end: datetime | None) -> None:
    with conn.cursor() as cur:
        for view in AGGREGATES:
            log.debug("refreshing %s", view)
            cur.execute("CALL refresh_continuous_aggregate(%s, %s, %s)", (view, start, end))
