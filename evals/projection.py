"""TimescaleDB as a projection of the run record: shipped live, reconciled at start and end.

During a run each finished sample's batch (events, then its SampleResult) goes to an
rlm.telemetry Recorder once it is on disk; the Recorder reconnects and replays its spool when
the database comes back. At start and end, `ship_run` compares what the database holds for the
run with the record and sends only what is missing; every write is idempotent (keys that
include time, ON CONFLICT DO NOTHING), so nothing is ever written twice.

    python -m evals.db ship RUN_ID      # load any run's record later (evals.db calls ship_command)
"""
from __future__ import annotations

import logging
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from rlm.errors import RLMError
from rlm.telemetry.records import SampleRecord

from evals.run_record import RunLog
from evals.sample_result import SampleResult

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 120.0  # how long the end of a run waits for a stuck database writer
BATCH_ROWS = 100  # the embedded server crashes on much larger INSERTs (rlm.telemetry.recorder)
_SHIPPED_KINDS = ("run", "run_finish", "price", "llm_call", "code_execution", "sample", "text")


def sample_record(result: SampleResult) -> SampleRecord:
    """The DB row of a SampleResult (the same fields; `metadata` stays in the record)."""
    return SampleRecord(
        run_id=result.run_id, query_id=result.query_id, time=result.time, task=result.task, family=result.family,
        size_tokens=result.size_tokens, method=result.method, model=result.model, sub_model=result.sub_model,
        depth=result.depth, sample_index=result.sample_index, score=result.score, correct=result.correct,
        answer=result.answer, expected=result.expected, error=result.error, stop_reason=result.stop_reason,
        iterations=result.iterations, latency_ms=result.latency_ms, config_hash=result.config_hash,
        sample_id=result.sample_id, error_kind=result.error_kind, transient=result.transient,
        prompt_tokens=result.prompt_tokens, cached_tokens=result.cached_tokens,
        completion_tokens=result.completion_tokens, reasoning_tokens=result.reasoning_tokens,
        cost_usd=result.cost_usd, calls=result.calls, sub_calls=result.sub_calls)


@dataclass
class ShipReport:
    samples: int = 0          # samples (with their events) sent because the database lacked them
    events: int = 0
    complete: int = 0         # samples the database already held in full

    def line(self) -> str:
        return f"shipped {self.samples} samples and {self.events} events ({self.complete} already in the database)"


def _writable(items: Iterable[Any]) -> list[Any]:
    from rlm.telemetry.writes import ORDER

    kinds = set(ORDER) & set(_SHIPPED_KINDS)
    return [i for i in items if i.kind in kinds]


def ship_run(run_dir: str | Path, dsn: str) -> ShipReport:
    """Send what the database lacks of a run's record; raises DatabaseUnavailableError when it is down."""
    from rlm.telemetry import connect, migrate
    from rlm.telemetry.writes import write_batch

    record = RunLog(run_dir).read()
    run_id = Path(run_dir).name
    report = ShipReport()
    migrate(dsn)
    with connect(dsn) as conn:
        held_samples, held_events = _held(conn, run_id)
        batch: list[Any] = _writable(_latest_header(record.header))
        for result in record.attempts:
            events = record.events.get(result.query_id, [])
            counts = Counter(e.kind for e in events if e.kind in ("llm_call", "code_execution"))
            if result.query_id in held_samples and counts == held_events.get(result.query_id, Counter()):
                report.complete += 1
                continue
            batch += _writable(events) + [sample_record(result)]
            report.samples += 1
            report.events += len(events)
            if len(batch) >= BATCH_ROWS:
                _write_all(conn, batch, write_batch)
                batch = []
        _write_all(conn, batch, write_batch)
    return report


def _write_all(conn: Any, items: list[Any], write_batch: Any) -> None:
    for start in range(0, len(items), BATCH_ROWS):
        write_batch(conn, items[start:start + BATCH_ROWS], page_size=BATCH_ROWS)
    conn.commit()


def _latest_header(header: list[Any]) -> list[Any]:
    """The last RunRecord, every price, and the last RunFinish after it (if the run has ended since)."""
    runs = [h for h in header if h.kind == "run"]
    prices = {h.model: h for h in header if h.kind == "price"}
    out: list[Any] = runs[-1:] + list(prices.values())
    last_run = max((i for i, h in enumerate(header) if h.kind == "run"), default=-1)
    finishes = [h for h in header[last_run + 1:] if h.kind == "run_finish"]
    return out + finishes[-1:]


def _held(conn: Any, run_id: str) -> tuple[set[str], dict[str, Counter]]:
    """The run's sample query_ids in the database, and its event counts per query_id."""
    events: dict[str, Counter] = {}
    with conn.cursor() as cur:
        cur.execute("SELECT query_id FROM samples WHERE run_id = %s", (run_id,))
        samples = {row[0] for row in cur.fetchall()}
        for kind, table in (("llm_call", "llm_calls"), ("code_execution", "code_executions")):
            cur.execute(f"SELECT query_id, count(*) FROM {table} WHERE run_id = %s GROUP BY query_id", (run_id,))
            for query_id, count in cur.fetchall():
                events.setdefault(query_id, Counter())[kind] = int(count)
    conn.commit()
    return samples, events


def git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


class Projection:
    """The database side of one run: reconcile at open, ship each finished sample, reconcile at close."""

    def __init__(self, run_log: RunLog, dsn: str | None, follow_embedded: bool) -> None:
        self.log = run_log
        self.dsn = dsn
        self.follow_embedded = follow_embedded
        self.recorder: Any = None
        self.note: str | None = None

    @classmethod
    def open(cls, plan: Any, run_log: RunLog) -> "Projection":
        """Resolve the database (starting the embedded one if so configured); an unreachable one is a note."""
        if plan.db_mode == "off":
            return cls(run_log, None, False)
        from rlm.telemetry import Recorder, resolve_dsn

        from evals.errors import EvalError

        try:
            dsn = resolve_dsn(plan.db_dsn, start=plan.db_mode in ("embedded", "native"),
                              backend="native" if plan.db_mode == "native" else "embedded")
        except RLMError as exc:
            if plan.db_mode == "dsn" and not plan.db_dsn:
                raise EvalError(str(exc)) from exc
            dsn = None
        import os

        follow = plan.db_mode == "embedded" and not plan.db_dsn and not os.environ.get("RLM_TSDB_DSN")
        projection = cls(run_log, dsn, follow)
        projection.reconcile()
        projection.recorder = Recorder(None if follow else dsn, spool_dir=run_log.dir / "spool") \
            if dsn is not None or follow else None
        return projection

    def _current_dsn(self) -> str | None:
        if self.follow_embedded:
            from rlm.telemetry import embedded_status

            status = embedded_status()
            return status.dsn if status.running else None
        return self.dsn

    def reconcile(self) -> ShipReport | None:
        """Send what the database lacks; on failure keep a one-line note (the record has everything)."""
        dsn = self._current_dsn()
        if dsn is None:
            self.note = self._unreachable("it is not running")
            return None
        try:
            report = ship_run(self.log.dir, dsn)
        except RLMError as exc:
            self.note = self._unreachable(str(exc).split(";")[0])
            return None
        except Exception as exc:  # noqa: BLE001 - the database is a projection: never fail a run over it
            log.warning("shipping run %s to the database failed: %s", self.log.run_id, exc)
            self.note = self._unreachable(type(exc).__name__)
            return None
        self.note = None
        if report.samples:
            log.info("run %s: %s", self.log.run_id, report.line())
        return report

    def _unreachable(self, why: str) -> str:
        from rlm.telemetry import redact

        return (f"note: the telemetry database was not reached ({redact(why)}); this report is from the run record; "
                f"load it later with `python -m evals.db ship {self.log.run_id}`")

    def ship(self, items: list[Any]) -> None:
        """Hand a batch already on disk to the live Recorder (SampleResults become sample rows)."""
        if self.recorder is None:
            return
        for item in items:
            if isinstance(item, SampleResult):
                self.recorder.record_sample(sample_record(item))
            elif item.kind in ("run", "price", "run_finish"):
                self.recorder.record(item)
            else:
                self.recorder.emit(item)

    def close(self) -> str | None:
        """Flush the Recorder, reconcile, and return the note when the database was not reached."""
        if self.recorder is not None and not self.recorder.close(timeout_s=CLOSE_TIMEOUT_S):
            log.warning("the telemetry writer did not finish in %.0fs; the run record has everything",
                        CLOSE_TIMEOUT_S)
        if self.dsn is None and not self.follow_embedded:
            return None
        if self.reconcile() is not None:
            shutil.rmtree(self.log.dir / "spool", ignore_errors=True)  # all of it is in the database now
            self._maintain()
        return self.note

    def _maintain(self) -> None:
        """Run the due policy jobs where no background worker does; a failure does not fail the run."""
        from rlm.telemetry import maintain

        dsn = self._current_dsn()
        try:
            if dsn:
                maintain(dsn)
        except Exception as exc:  # noqa: BLE001 - the run's data is stored; the next run or `maintain` retries
            log.warning("telemetry maintenance skipped: %s", exc)


def ship_command(run: str, dsn: str | None = None, results_dir: str | Path = "results") -> str:
    """`python -m evals.db ship RUN`: RUN is a run id (under results_dir/runs) or a run directory."""
    from rlm.telemetry import resolve_dsn

    from evals.errors import EvalError

    run_dir = Path(run) if Path(run).is_dir() else Path(results_dir) / "runs" / run
    if not (run_dir / "record.jsonl").exists():
        raise EvalError(f"no run record at {run_dir / 'record.jsonl'}")
    report = ship_run(run_dir, resolve_dsn(dsn))
    shutil.rmtree(run_dir / "spool", ignore_errors=True)
    return f"run {run_dir.name}: {report.line()}"
