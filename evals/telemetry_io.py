"""The harness's side of telemetry: one Recorder per run, fed events, samples and prices.

With `db=off` every method is a no-op, so the runner has one code path.
"""
from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from rlm.errors import RLMError
from rlm.events import EventSink

from evals.config import saved_config
from evals.errors import EvalError
from evals.models import models_used, price_of, run_label
from evals.store import SampleResult

log = logging.getLogger(__name__)


def git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _maintain(dsn: str) -> None:
    """Run the due policy jobs where no background worker does; a failure does not fail the run."""
    from rlm.telemetry import maintain

    try:
        maintain(dsn)
    except Exception as exc:  # noqa: BLE001 - the run's data is stored; the next run or `maintain` retries
        log.warning("telemetry maintenance skipped: %s", exc)


@dataclass
class TelemetryWriter:
    recorder: Any | None
    dsn: str | None
    run_id: str
    config_hash: str

    @property
    def sink(self) -> EventSink | None:
        return self.recorder

    @classmethod
    def open(cls, cfg: Any, run_id: str, config_hash: str, spool_dir: Path) -> "TelemetryWriter":
        """Connect (starting the embedded DB if needed) and record the run; bad DSN -> EvalError."""
        if cfg.db.mode == "off":
            return cls(None, None, run_id, config_hash)
        from rlm.telemetry import Recorder, RunRecord, resolve_dsn

        try:
            dsn = resolve_dsn(cfg.db.dsn, start=cfg.db.mode in ("embedded", "native"), backend=cfg.db.mode)
        except RLMError as exc:
            raise EvalError(str(exc)) from exc
        recorder = Recorder(dsn, spool_dir=spool_dir)
        recorder.record_prices({mc.name: price_of(mc) for mc in models_used(cfg) if price_of(mc)})
        recorder.record_run(RunRecord(run_id=run_id, config=saved_config(cfg),
                                      git_sha=git_sha(), sweep_id=cfg.sweep_id, label=run_label(cfg), status="running"))
        return cls(recorder, dsn, run_id, config_hash)

    def sample(self, result: SampleResult) -> None:
        if self.recorder is None:
            return
        from rlm.telemetry import SampleRecord

        self.recorder.record_sample(SampleRecord(
            run_id=result.run_id, query_id=result.query_id, task=result.task, family=result.family,
            size_tokens=result.size_tokens, method=result.method, model=result.model,
            sub_model=result.sub_model, depth=result.depth, sample_index=result.sample_index,
            score=result.score, correct=result.correct, answer=result.answer, expected=result.expected,
            error=result.error, stop_reason=result.stop_reason, iterations=result.iterations,
            latency_ms=result.latency_ms, config_hash=result.config_hash))

    def close(self, status: str) -> None:
        if self.recorder is None:
            return
        self.recorder.finish_run(self.run_id, status)
        self.recorder.close()
        _maintain(self.dsn)
