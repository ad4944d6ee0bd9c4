"""Explicit refresh of the continuous aggregates.

Policies refresh them in the background on a TimescaleDB server, but the embedded build may
never run background jobs, so reports call `refresh_aggregates` first.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime

import psycopg2.errors

from rlm.telemetry.connection import connect

log = logging.getLogger(__name__)

AGGREGATES = ("llm_calls_1m", "llm_latency_hist_1m", "code_executions_1m")
CONCURRENT_REFRESH_WAIT_S = 60.0  # a policy refresh of a week of one-minute buckets ends well within this


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
            _refresh_one(cur, view, start, end)


def _refresh_one(cur, view: str, start: datetime | None, end: datetime | None) -> None:
    """One refresh; a TimescaleDB server refuses one whose window overlaps a refresh in progress
    (its own policy job, every few minutes), so wait for that one to end and go again."""
    deadline = time.monotonic() + CONCURRENT_REFRESH_WAIT_S
    pause = 0.05
    while True:
        try:
            cur.execute("CALL refresh_continuous_aggregate(%s, %s, %s)", (view, start, end))
            return
        except psycopg2.errors.LockNotAvailable:
            if time.monotonic() + pause > deadline:
                raise
            log.debug("%s: a concurrent refresh is running; trying again", view)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
