"""Telemetry: every model call and code execution stored in TimescaleDB.

    dsn = resolve_dsn()                      # RLM_TSDB_DSN, else the embedded TimescaleDB
    with Recorder(dsn, spool_dir) as rec:    # an rlm.events.EventSink
        rec.record_run(run_id, label="sim"); rec.emit(event); rec.finish_run(run_id, "finished")
    maintain(dsn)                            # at run end: policy jobs where no worker runs them
    queries.run_summary(dsn, run_id)
"""
from rlm.telemetry import queries
from rlm.telemetry.aggregates import refresh_aggregates
from rlm.telemetry.connection import connect, redact, resolve_dsn
from rlm.telemetry.embedded import EmbeddedStatus, embedded_status, start_embedded, stop_embedded
from rlm.telemetry.maintenance import JobRun, maintain
from rlm.telemetry.errors import (DatabaseUnavailableError, EmbeddedServerError, TelemetryError,
                                  TimescaleMissingError)
from rlm.telemetry.migrate import current_version, latest_version, migrate
from rlm.telemetry.records import PriceRecord, RunFinish, RunRecord, SampleRecord
from rlm.telemetry.recorder import Recorder, ingest

__all__ = [
    "DatabaseUnavailableError", "EmbeddedServerError", "EmbeddedStatus", "JobRun", "PriceRecord", "Recorder",
    "RunFinish", "RunRecord", "SampleRecord", "TelemetryError", "TimescaleMissingError", "connect",
    "current_version", "embedded_status", "ingest", "latest_version", "maintain", "migrate", "queries", "redact",
    "refresh_aggregates", "resolve_dsn", "start_embedded", "stop_embedded",
]
