"""The database dies mid-run: emits keep working, the spool holds the rest, a restart replays it."""
from __future__ import annotations

import os
import signal
import time

from rlm.telemetry import Recorder, embedded_status, start_embedded
from tests.telemetry.helpers import count, synthetic_events


def test_kill_the_server_mid_run_then_replay(tsdb_home, dsn, tmp_path, monkeypatch):
    monkeypatch.setenv("RLM_EVALS_HOME", str(tsdb_home))
    monkeypatch.delenv("RLM_TSDB_DSN", raising=False)
    run_id = "killed-mid-run"
    events = synthetic_events(run_id, n_queries=30)
    half = len(events) // 2
    rec = Recorder(None, tmp_path / "spool", flush_interval_s=0.05, retry_interval_s=0.2)
    rec.record_run(run_id)
    for event in events[:half]:
        rec.emit(event)
    rec.flush()
    assert rec.spooled == 0

    os.kill(embedded_status(tsdb_home).pid, signal.SIGKILL)
    time.sleep(0.3)
    t0 = time.perf_counter()
    for event in events[half:]:
        rec.emit(event)  # never blocks or raises while the database is gone
    assert time.perf_counter() - t0 < 1.0
    rec.finish_run(run_id, "finished")
    rec.close()
    assert rec.spool.count() == rec.spooled > 0

    new_dsn = start_embedded(tsdb_home)  # the next start replays the spool
    with Recorder(None, tmp_path / "spool") as again:
        again.flush()
    llm = sum(1 for e in events if e.kind == "llm_call")
    assert count(new_dsn, "llm_calls", run_id) == llm
    assert count(new_dsn, "code_executions", run_id) == len(events) - llm
    assert rec.spool.count() == 0
