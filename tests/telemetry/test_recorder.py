"""Every emitted event lands once; sums in SQL equal the in-memory sums."""
from __future__ import annotations

import threading

from rlm.telemetry import Recorder, RunRecord, SampleRecord, connect, queries
from rlm.usage import Price
from tests.telemetry.helpers import count, synthetic_events


def test_every_event_is_recorded_with_exact_sums(dsn, tmp_path):
    run_id = "rec-sums"
    events = synthetic_events(run_id, n_queries=20)
    with Recorder(dsn, tmp_path / "spool", batch_size=100) as rec:
        rec.record_run(RunRecord(run_id=run_id, config={"depth": 2}, label="sim"))
        for event in events:
            rec.emit(event)
        rec.record_sample(SampleRecord(run_id=run_id, query_id="q0", task="niah", score=1.0, correct=True,
                                       answer="1234567", expected=["1234567"]))
        rec.finish_run(run_id, "finished")
    llm = [e for e in events if e.kind == "llm_call"]
    execs = [e for e in events if e.kind == "code_execution"]
    assert rec.spooled == 0
    assert count(dsn, "llm_calls", run_id) == len(llm)
    assert count(dsn, "code_executions", run_id) == len(execs)
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT sum(prompt_tokens), sum(cached_tokens), sum(completion_tokens), sum(reasoning_tokens),"
                    " sum(cost_usd::numeric) FROM llm_calls WHERE run_id = %s", (run_id,))
        prompt, cached, completion, reasoning, cost = cur.fetchone()
        cur.execute("SELECT count(*) FROM llm_calls c JOIN llm_calls p ON p.call_id = c.parent_call_id "
                    "WHERE c.run_id = %s", (run_id,))
        linked = cur.fetchone()[0]
    assert prompt == sum(e.prompt_tokens for e in llm)
    assert cached == sum(e.cached_tokens for e in llm)
    assert completion == sum(e.completion_tokens for e in llm)
    assert reasoning == sum(e.reasoning_tokens for e in llm)
    assert float(cost) == sum(round(e.cost_usd * 1e6) for e in llm) / 1e6
    assert linked == sum(1 for e in llm if e.parent_call_id)
    assert {e["depth"] for e in queries.calls(dsn, run_id)} == {0, 1, 2}
    summary = queries.run_summary(dsn, run_id)
    assert summary["status"] == "finished" and summary["label"] == "sim" and summary["samples"] == 1
    assert summary["calls"] == len(llm) and summary["executions"] == len(execs)


def test_replaying_the_same_events_never_duplicates(dsn, tmp_path):
    run_id = "rec-dup"
    events = synthetic_events(run_id, n_queries=3)
    for _ in range(2):
        with Recorder(dsn, tmp_path / "spool") as rec:
            rec.record_run(run_id)
            for event in events:
                rec.emit(event)
    assert count(dsn, "llm_calls", run_id) == sum(1 for e in events if e.kind == "llm_call")


def test_queue_overflow_spills_to_the_spool_and_is_replayed(dsn, tmp_path):
    run_id = "rec-overflow"
    events = synthetic_events(run_id, n_queries=10)
    rec = Recorder(dsn, tmp_path / "spool", max_queue=5, flush_interval_s=0.05)
    for event in events:
        rec.emit(event)
    rec.close()
    assert rec.spooled > 0  # the tiny queue overflowed
    with Recorder(dsn, tmp_path / "spool") as again:  # the next connection replays
        again.flush()
    assert count(dsn, "llm_calls", run_id) == sum(1 for e in events if e.kind == "llm_call")
    assert not list((tmp_path / "spool").glob("*"))


def test_prices_and_odd_ids_are_stored_verbatim(dsn, tmp_path):
    run_id = "run'; DROP TABLE llm_calls; --\"x"
    query_id = "q'\";--"
    events = [e for e in synthetic_events(run_id, n_queries=1)]
    for e in events:
        e.query_id = query_id
    with Recorder(dsn, tmp_path / "spool") as rec:
        rec.record_prices({"root-model": Price(1.0, 0.25, 4.0)})
        rec.record_run(run_id, label="it's")
        for e in events:
            rec.emit(e)
    assert queries.run_summary(dsn, run_id)["label"] == "it's"
    assert len(queries.calls(dsn, run_id, query_id)) == sum(1 for e in events if e.kind == "llm_call")
    assert len(queries.code_executions(dsn, run_id, query_id)) == 3
    assert run_id in [r["run_id"] for r in queries.list_runs(dsn)]


def test_batches_sent_while_the_next_is_encoded_all_land_before_flush_returns(dsn, tmp_path):
    """With many small batches (one encoded while the previous is sent), a flush returns only once
    all it covers is in the database, in two rounds of emits."""
    run_id = "rec-pipeline"
    events = synthetic_events(run_id, n_queries=60)  # 900 calls and cells: ~18 batches of 50
    rec = Recorder(dsn, tmp_path / "spool", batch_size=50, flush_interval_s=0.01)
    try:
        half = len(events) // 2
        for event in events[:half]:
            rec.emit(event)
        assert rec.flush(60)
        assert count(dsn, "llm_calls", run_id) + count(dsn, "code_executions", run_id) == half
        for event in events[half:]:
            rec.emit(event)
        assert rec.flush(60)
        assert count(dsn, "llm_calls", run_id) + count(dsn, "code_executions", run_id) == len(events)
    finally:
        rec.close()
    assert rec.spooled == 0 and rec.written == len(events)


def test_threads_emitting_and_flushing_at_once_land_every_event_once(dsn, tmp_path):
    """Emit is a lock-free append the writer wakes on: four threads emitting, each flushing as it
    goes, lose nothing, duplicate nothing, and every flush returns once its events are in."""
    run_id = "rec-threads"
    events = synthetic_events(run_id, n_queries=80)  # 1,200 calls and cells
    rec = Recorder(dsn, tmp_path / "spool", batch_size=100, flush_interval_s=0.01)
    seen_at_flush: list[int] = []

    def emit(share: list) -> None:
        for i, event in enumerate(share):
            rec.emit(event)
            if i % 97 == 96:
                assert rec.flush(60)
        assert rec.flush(60)
        seen_at_flush.append(len(share))

    threads = [threading.Thread(target=emit, args=(events[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sum(seen_at_flush) == len(events)
        assert count(dsn, "llm_calls", run_id) + count(dsn, "code_executions", run_id) == len(events)
    finally:
        rec.close()
    assert rec.spooled == 0 and rec.written == len(events)
