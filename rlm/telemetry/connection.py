"""Short-lived psycopg2 connections, and DSN handling that never leaks a password.

The embedded server lends its one session to one connection at a time, so every connection here
closes when its `with` block ends (psycopg2's own context manager only ends the transaction).
"""
from __future__ import annotations

import logging
import os
import re

import psycopg2
import psycopg2.extensions

from rlm.telemetry import embedded
from rlm.telemetry.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)

DSN_ENV = "RLM_TSDB_DSN"
CONNECT_TIMEOUT_S = 10


class ClosingConnection(psycopg2.extensions.connection):
    """A connection whose `with` block commits (or rolls back) and then closes it.

    It also rolls back before closing, so the server is not left to clean up after it.
    """

    def close(self) -> None:
        if not self.closed and self.info.transaction_status != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
            try:
                self.rollback()
            except psycopg2.Error:
                pass
        super().close()

    def __exit__(self, exc_type, exc, tb):  # type: ignore[override]
        try:
            return super().__exit__(exc_type, exc, tb)
        finally:
            self.close()


def is_embedded(conn) -> bool:
    """Whether `conn` is to the embedded server (PGlite, a WebAssembly build: no COPY FROM STDIN)."""
    known = getattr(conn, "_rlm_embedded", None)
    if known is None:
        with conn.cursor() as cur:
            cur.execute("SELECT version()")
            known = "emscripten" in cur.fetchone()[0].lower()
        try:
            conn._rlm_embedded = known
        except AttributeError:  # a plain psycopg2 connection takes no attributes
            pass
    return known


def endpoint(dsn: str) -> tuple[str, str]:
    """(host, port) of a DSN, for messages."""
    try:
        params = psycopg2.extensions.parse_dsn(dsn)
    except psycopg2.ProgrammingError:
        return ("?", "?")
    return (params.get("host") or "localhost", params.get("port") or "5432")


def redact(text: str, dsn: str | None = None) -> str:
    """`text` with any password (URL userinfo, password=..., or the DSN's own) replaced by ***."""
    text = re.sub(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@", r"\1***@", text)
    text = re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", text, flags=re.IGNORECASE)
    if dsn:
        try:
            password = psycopg2.extensions.parse_dsn(dsn).get("password")
        except psycopg2.ProgrammingError:
            password = None
        if password:
            text = text.replace(password, "***")
    return text


def connect(dsn: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> ClosingConnection:
    """Open a connection (closed at the end of its `with` block); raise DatabaseUnavailableError."""
    try:
        return psycopg2.connect(dsn, connection_factory=ClosingConnection,
                                connect_timeout=max(1, int(timeout_s)))
    except psycopg2.OperationalError as exc:
        host, port = endpoint(dsn)
        reason = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, dsn)
        raise DatabaseUnavailableError(
            f"cannot reach the telemetry database at {host}:{port} ({reason}); check that it is "
            f"running, or unset {DSN_ENV} to use the embedded one (`python -m evals.db start`)",
            host=host, port=port) from None


def resolve_dsn(dsn: str | None = None, *, start: bool = True, backend: str = "embedded") -> str:
    """The DSN to use: `dsn`, else $RLM_TSDB_DSN, else the local server of `backend` (embedded, or
    native from a local build), started if `start`."""
    if dsn:
        return dsn
    env = os.environ.get(DSN_ENV)
    if env:
        return env
    if backend == "native":
        from rlm.telemetry.native import native_status, start_native

        status = native_status()
        if status.running or not start:
            if not status.running:
                raise DatabaseUnavailableError("the native TimescaleDB is not running; start it with "
                                               "`python -m evals.db start db=native`")
            return status.dsn
        return start_native()
    if start:
        return embedded.start_embedded()
    status = embedded.embedded_status()
    if not status.running:
        raise DatabaseUnavailableError(
            "the embedded telemetry database is not running; start it with `python -m evals.db start`")
    return status.dsn
