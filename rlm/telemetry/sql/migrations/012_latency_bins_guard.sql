-- 012: a call whose latency is NaN or infinite no longer breaks the latency histogram.
-- 002 cast ln(1 + latency) to integer, which fails for NaN and infinity, and since 008 every
-- read of the aggregate computes recent rows on the fly: one such row made every latency report
-- fail. Such a call now has no bin (NULL): it counts in llm_calls_1m, not in the percentiles.
-- A continuous aggregate's query cannot be altered, so it is made again, with the views over it
-- and its policies; migrate() refreshes the aggregates over all time afterwards (the line below).
-- rlm: refresh aggregates
DROP MATERIALIZED VIEW IF EXISTS llm_latency_hist_1m CASCADE;  -- and llm_latency_by_run_model, llm_run_model_stats

CREATE MATERIALIZED VIEW llm_latency_hist_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 minute', time) AS bucket,
       run_id, role, model,
       CASE WHEN latency_ms < 'Infinity' THEN floor(ln(1 + greatest(latency_ms, 0)) * 20)::integer END
           AS latency_bin,  -- NaN sorts above Infinity, so neither passes the test
       count(*) AS calls
FROM llm_calls
GROUP BY bucket, run_id, role, model, latency_bin
WITH NO DATA;

SELECT add_continuous_aggregate_policy('llm_latency_hist_1m', start_offset => INTERVAL '7 days',
           end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '5 minutes', if_not_exists => TRUE);
SELECT add_retention_policy('llm_latency_hist_1m', INTERVAL '3 years', if_not_exists => TRUE);

-- As in 002, over binned calls only.
CREATE OR REPLACE VIEW llm_latency_by_run_model AS
WITH bins AS (
    SELECT run_id, role, model, latency_bin, sum(calls) AS calls
    FROM llm_latency_hist_1m WHERE latency_bin IS NOT NULL GROUP BY run_id, role, model, latency_bin
), cum AS (
    SELECT *, sum(calls) OVER (PARTITION BY run_id, role, model ORDER BY latency_bin) AS below,
              sum(calls) OVER (PARTITION BY run_id, role, model) AS total
    FROM bins
)
SELECT run_id, role, model, max(total)::bigint AS calls,
       exp((min(latency_bin) FILTER (WHERE below >= 0.50 * total) + 0.5)::double precision / 20) - 1 AS latency_p50,
       exp((min(latency_bin) FILTER (WHERE below >= 0.90 * total) + 0.5)::double precision / 20) - 1 AS latency_p90,
       exp((min(latency_bin) FILTER (WHERE below >= 0.99 * total) + 0.5)::double precision / 20) - 1 AS latency_p99
FROM cum GROUP BY run_id, role, model;

CREATE OR REPLACE VIEW llm_run_model_stats AS
SELECT a.run_id, a.role, a.model,
       sum(a.calls)::bigint AS calls, sum(a.errors)::bigint AS errors,
       sum(a.prompt_tokens)::bigint AS prompt_tokens, sum(a.cached_tokens)::bigint AS cached_tokens,
       sum(a.completion_tokens)::bigint AS completion_tokens,
       sum(a.reasoning_tokens)::bigint AS reasoning_tokens,
       sum(a.cost_usd) AS cost_usd, sum(a.unpriced_calls)::bigint AS unpriced_calls,
       sum(a.latency_ms_sum) / nullif(sum(a.calls), 0) AS latency_mean,
       max(a.latency_ms_max) AS latency_max,
       max(l.latency_p50) AS latency_p50, max(l.latency_p90) AS latency_p90,
       max(l.latency_p99) AS latency_p99
FROM llm_calls_1m a
LEFT JOIN llm_latency_by_run_model l USING (run_id, role, model)
GROUP BY a.run_id, a.role, a.model;
