-- 009: fewer indexes on the event hypertables, so ingest runs several times faster.
-- Each index is written on every row; these four were read by no query, or by one that a
-- per-run scan of the run_query index serves as well:
--   (run_id, latency_ms) / (run_id, duration_ms): only slowest_calls / slowest_executions, a top-N
--     sort over one run's rows found through the run_query index (about 30 ms for 100k rows);
--   (parent_call_id) partial indexes: no query selects by parent; trajectories are read per query.
-- What stays: the primary keys (ON CONFLICT makes replays idempotent), the run_query indexes
-- (every per-run read), and the time indexes (real-time aggregates read rows past the watermark).
DROP INDEX IF EXISTS llm_calls_run_latency_idx;
DROP INDEX IF EXISTS code_executions_run_duration_idx;
DROP INDEX IF EXISTS llm_calls_parent_idx;
DROP INDEX IF EXISTS code_executions_parent_idx;
