"""Telemetry errors: one class per thing the user fixes differently."""
from __future__ import annotations

from rlm.errors import RLMError


class TelemetryError(RLMError):
    """Root of every telemetry error (database, embedded server, spool)."""


class DatabaseUnavailableError(TelemetryError):
    """The database could not be reached; the message names host and port, never the password."""

    def __init__(self, message: str, *, host: str | None = None, port: str | int | None = None) -> None:
        super().__init__(message)
        self.host = host
        self.port = port


class TimescaleMissingError(TelemetryError):
    """The database is PostgreSQL without the timescaledb extension."""


class EmbeddedServerError(TelemetryError):
    """The embedded TimescaleDB could not be installed or started (node/npm missing, crash...)."""
