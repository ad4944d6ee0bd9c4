-- 011: one B-tree per event row instead of three, so ingest pays for one.
-- * The primary keys of llm_calls and code_executions lead with (run_id, query_id): the key that
--   keeps spool replays idempotent (ON CONFLICT DO NOTHING) is now also the index of every per-run
--   and per-query read, and the separate run_query indexes go.
-- * Time is indexed with BRIN instead of a B-tree: rows arrive in time order, so a block-range
--   index (a few pages per chunk, next to nothing to keep up per row) finds a time range as well.
--   Time ranges are what the real-time aggregates read past their watermark and what the
--   aggregate refreshes scan.
-- On the embedded server each B-tree cost about a fifth of a COPY's time (bench/bench_telemetry.py).
ALTER TABLE llm_calls DROP CONSTRAINT IF EXISTS llm_calls_pkey, ADD PRIMARY KEY (run_id, query_id, call_id, time);
ALTER TABLE code_executions DROP CONSTRAINT IF EXISTS code_executions_pkey,
    ADD PRIMARY KEY (run_id, query_id, exec_id, time);
DROP INDEX IF EXISTS llm_calls_run_query_idx;
DROP INDEX IF EXISTS code_executions_run_query_idx;
DROP INDEX IF EXISTS llm_calls_time_idx;
DROP INDEX IF EXISTS code_executions_time_idx;
DROP INDEX IF EXISTS trajectory_texts_time_idx;
CREATE INDEX IF NOT EXISTS llm_calls_time_brin ON llm_calls USING brin (time);
CREATE INDEX IF NOT EXISTS code_executions_time_brin ON code_executions USING brin (time);
CREATE INDEX IF NOT EXISTS trajectory_texts_time_brin ON trajectory_texts USING brin (time);
