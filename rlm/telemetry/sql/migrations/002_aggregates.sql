-- 002: continuous aggregates and analytics views.
--
-- Percentiles: timescaledb_toolkit (percentile_agg) is not in the embedded build. Two forms are
-- kept instead, both accepted by TimescaleDB 2.23 inside continuous aggregates:
--   * llm_calls_1m: exact percentile_cont per minute bucket (correct for that minute only;
--     percentiles do not add up across buckets);
--   * llm_latency_hist_1m: counts per log-scale latency bucket (20 buckets per e-fold, about 5%
--     relative width), which do add up, so llm_latency_by_run_model rolls them up to any run.
-- The query API computes exact percentiles from raw llm_calls for one run.

CREATE MATERIALIZED VIEW IF NOT EXISTS llm_calls_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
SELECT time_bucket(INTERVAL '1 minute', time) AS bucket,
       run_id, role, model,
       count(*)                                   AS calls,
       count(*) FILTER (WHERE status <> 'ok')     AS errors,
       sum(prompt_tokens)::bigint                 AS prompt_tokens,
       sum(cached_tokens)::bigint                 AS cached_tokens,
       sum(completion_tokens)::bigint             AS completion_tokens,
       sum(reasoning_tokens)::bigint              AS reasoning_tokens,
       sum(cost_usd)                              AS cost_usd,
       count(*) FILTER (WHERE cost_usd IS NULL)   AS unpriced_calls,
       sum(latency_ms)                            AS latency_ms_sum,
       max(latency_ms)                            AS latency_ms_max,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms)  AS latency_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY latency_ms)  AS latency_p90,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS latency_p99
FROM llm_calls
GROUP BY bucket, run_id, role, model
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS llm_latency_hist_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
SELECT time_bucket(INTERVAL '1 minute', time) AS bucket,
       run_id, role, model,
       floor(ln(1 + greatest(latency_ms, 0)) * 20)::integer AS latency_bin,
       count(*) AS calls
FROM llm_calls
GROUP BY bucket, run_id, role, model, latency_bin
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS code_executions_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
SELECT time_bucket(INTERVAL '1 minute', time) AS bucket,
       run_id, depth,
       count(*)                              AS executions,
       count(*) FILTER (WHERE NOT success)   AS failures,
       sum(duration_ms)                      AS duration_ms_sum,
       max(duration_ms)                      AS duration_ms_max,
       sum(sub_calls)::bigint                AS sub_calls,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)  AS duration_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY duration_ms)  AS duration_p90,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS duration_p99
FROM code_executions
GROUP BY bucket, run_id, depth
WITH NO DATA;

-- Per run x role x model from the aggregates (refresh first: see rlm.telemetry.refresh_aggregates).
CREATE OR REPLACE VIEW llm_latency_by_run_model AS
WITH bins AS (
    SELECT run_id, role, model, latency_bin, sum(calls) AS calls
    FROM llm_latency_hist_1m GROUP BY run_id, role, model, latency_bin
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

-- Token-cache analytics, exact, over the raw rows (cached tokens are part of prompt tokens).
-- Tokens saved = cached tokens; USD saved = cached x (input - cached input) per 1M tokens,
-- NULL when the model has no price.
CREATE OR REPLACE VIEW llm_cache_by_run_model AS
SELECT c.run_id, c.model,
       count(*)::bigint                 AS calls,
       sum(c.prompt_tokens)::bigint     AS prompt_tokens,
       sum(c.cached_tokens)::bigint     AS cached_tokens,
       sum(c.cached_tokens)::double precision / nullif(sum(c.prompt_tokens), 0) AS hit_rate,
       sum(c.cached_tokens)::bigint     AS tokens_saved,
       sum(c.cached_tokens) * (p.input - p.cached_input) / 1e6 AS usd_saved
FROM llm_calls c
LEFT JOIN model_prices p ON p.model = c.model
GROUP BY c.run_id, c.model, p.input, p.cached_input;

-- The same per minute, from the aggregate, for time series across runs.
CREATE OR REPLACE VIEW llm_cache_1m AS
SELECT a.bucket, a.run_id, a.model,
       sum(a.prompt_tokens)::bigint AS prompt_tokens, sum(a.cached_tokens)::bigint AS cached_tokens,
       sum(a.cached_tokens)::double precision / nullif(sum(a.prompt_tokens), 0) AS hit_rate,
       sum(a.cached_tokens) * (p.input - p.cached_input) / 1e6 AS usd_saved
FROM llm_calls_1m a
LEFT JOIN model_prices p ON p.model = a.model
GROUP BY a.bucket, a.run_id, a.model, p.input, p.cached_input;
