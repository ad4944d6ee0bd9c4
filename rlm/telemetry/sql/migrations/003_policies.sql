-- 003: compression, retention and refresh policies.
-- Windows nest so no policy cuts into another: aggregates refresh the last 7 days; raw chunks
-- are compressed after 30 days (outside the refresh window) and dropped after 365 days; the
-- aggregates keep 3 years. The embedded database may never run these background jobs:
-- rlm.telemetry.maintain() runs them there (migration 008 makes the aggregates real-time).
ALTER TABLE llm_calls SET (timescaledb.compress, timescaledb.compress_segmentby = 'run_id',
                           timescaledb.compress_orderby = 'time DESC');
ALTER TABLE code_executions SET (timescaledb.compress, timescaledb.compress_segmentby = 'run_id',
                                 timescaledb.compress_orderby = 'time DESC');
SELECT add_compression_policy('llm_calls', INTERVAL '30 days', if_not_exists => TRUE);
SELECT add_compression_policy('code_executions', INTERVAL '30 days', if_not_exists => TRUE);
SELECT add_retention_policy('llm_calls', INTERVAL '365 days', if_not_exists => TRUE);
SELECT add_retention_policy('code_executions', INTERVAL '365 days', if_not_exists => TRUE);

SELECT add_continuous_aggregate_policy(view, start_offset => INTERVAL '7 days',
           end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '5 minutes',
           if_not_exists => TRUE)
FROM unnest(ARRAY['llm_calls_1m', 'llm_latency_hist_1m', 'code_executions_1m']::regclass[]) AS view;
SELECT add_retention_policy(view, INTERVAL '3 years', if_not_exists => TRUE)
FROM unnest(ARRAY['llm_calls_1m', 'llm_latency_hist_1m', 'code_executions_1m']::regclass[]) AS view;
