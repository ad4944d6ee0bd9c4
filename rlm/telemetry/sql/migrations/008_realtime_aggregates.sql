-- 008: real-time continuous aggregates.
-- Rows newer than an aggregate's last refresh are read from the raw tables, so every read of an
-- aggregate is complete whether or not a refresh has run (the embedded database runs no
-- background jobs: rlm.telemetry.maintain runs them at the end of each run).
ALTER MATERIALIZED VIEW llm_calls_1m SET (timescaledb.materialized_only = false);
ALTER MATERIALIZED VIEW llm_latency_hist_1m SET (timescaledb.materialized_only = false);
ALTER MATERIALIZED VIEW code_executions_1m SET (timescaledb.materialized_only = false);
