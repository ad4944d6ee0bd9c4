"""Read side: parameterised queries keyed by run_id and query_id, returning lists of dicts.

Each function takes a DSN (a short connection is opened and closed: the embedded server serves
one client at a time) or an open connection. Values travel as parameters, never in SQL text,
so ids with quotes or semicolons are stored and matched verbatim.
"""
from __future__ import annotations

from typing import Any

from rlm.telemetry.connection import connect

_LATENCY_SQL = """
SELECT role, model, count(*) AS calls, count(*) FILTER (WHERE status <> 'ok') AS errors,
       avg(latency_ms) AS latency_mean,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS latency_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY latency_ms) AS latency_p90,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS latency_p99,
       max(latency_ms) AS latency_max,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_ms) AS ttft_p50
FROM llm_calls WHERE run_id = %(run_id)s
GROUP BY role, model ORDER BY role, model
"""

_CACHE_SQL = """
SELECT coalesce(sum(calls), 0)::bigint AS calls,
       coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
       coalesce(sum(cached_tokens), 0)::bigint AS cached_tokens,
       sum(cached_tokens)::double precision / nullif(sum(prompt_tokens), 0) AS hit_rate,
       coalesce(sum(tokens_saved), 0)::bigint AS tokens_saved,
       CASE WHEN bool_and(usd_saved IS NOT NULL OR cached_tokens = 0)
            THEN coalesce(sum(usd_saved), 0) END AS usd_saved
FROM llm_cache_by_run_model WHERE run_id = %(run_id)s
"""

_RUN_SUMMARY_SQL = """
SELECT r.run_id, r.started_at, r.finished_at, r.status, r.label, r.git_sha, r.sweep_id, r.config,
       c.calls, c.errors, c.prompt_tokens, c.cached_tokens, c.completion_tokens, c.reasoning_tokens,
       c.cost_usd, c.unpriced_calls, c.latency_ms_sum, c.queries,
       e.executions, e.failed_executions, e.execution_ms_sum,
       s.samples, s.mean_score
FROM runs r
LEFT JOIN LATERAL (
    SELECT count(*) AS calls, count(*) FILTER (WHERE status <> 'ok') AS errors,
           coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
           coalesce(sum(cached_tokens), 0)::bigint AS cached_tokens,
           coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens,
           coalesce(sum(reasoning_tokens), 0)::bigint AS reasoning_tokens,
           sum(cost_usd) AS cost_usd, count(*) FILTER (WHERE cost_usd IS NULL) AS unpriced_calls,
           coalesce(sum(latency_ms), 0) AS latency_ms_sum, count(DISTINCT query_id) AS queries
    FROM llm_calls WHERE run_id = r.run_id) c ON TRUE
LEFT JOIN LATERAL (
    SELECT count(*) AS executions, count(*) FILTER (WHERE NOT success) AS failed_executions,
           coalesce(sum(duration_ms), 0) AS execution_ms_sum
    FROM code_executions WHERE run_id = r.run_id) e ON TRUE
LEFT JOIN LATERAL (
    SELECT count(*) AS samples, avg(score) AS mean_score FROM samples WHERE run_id = r.run_id) s ON TRUE
WHERE r.run_id = %(run_id)s
"""


def _rows(db, sql: str, params: dict[str, Any]) -> list[dict]:
    if isinstance(db, str):
        with connect(db) as conn:
            return _rows(conn, sql, params)
    with db.cursor() as cur:
        cur.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def calls(db, run_id: str, query_id: str | None = None) -> list[dict]:
    """Every model call of a run (or of one query), in time order."""
    return _rows(db, "SELECT * FROM llm_calls WHERE run_id = %(run_id)s "
                     "AND (%(query_id)s::text IS NULL OR query_id = %(query_id)s) ORDER BY time, call_id",
                 {"run_id": run_id, "query_id": query_id})


def code_executions(db, run_id: str, query_id: str | None = None) -> list[dict]:
    """Every REPL cell of a run (or of one query), in time order."""
    return _rows(db, "SELECT * FROM code_executions WHERE run_id = %(run_id)s "
                     "AND (%(query_id)s::text IS NULL OR query_id = %(query_id)s) ORDER BY time, exec_id",
                 {"run_id": run_id, "query_id": query_id})


def latency_metrics(db, run_id: str) -> list[dict]:
    """Exact latency percentiles (ms) per role and model of a run."""
    return _rows(db, _LATENCY_SQL, {"run_id": run_id})


def slowest_calls(db, run_id: str, n: int = 10) -> list[dict]:
    return _rows(db, "SELECT time, query_id, call_id, parent_call_id, depth, iteration, role, model, latency_ms, "
                     "ttft_ms, prompt_tokens, completion_tokens, status, error_type FROM llm_calls "
                     "WHERE run_id = %(run_id)s ORDER BY latency_ms DESC LIMIT %(n)s", {"run_id": run_id, "n": n})


def slowest_executions(db, run_id: str, n: int = 10) -> list[dict]:
    return _rows(db, "SELECT time, query_id, exec_id, parent_call_id, depth, iteration, cell_index, duration_ms, "
                     "code_chars, stdout_chars, success, error_type, sub_calls FROM code_executions "
                     "WHERE run_id = %(run_id)s ORDER BY duration_ms DESC LIMIT %(n)s", {"run_id": run_id, "n": n})


def cache_summary(db, run_id: str) -> dict:
    """Prompt and cached tokens, hit rate, tokens and USD saved (None if a cached model has no price)."""
    return _rows(db, _CACHE_SQL, {"run_id": run_id})[0]


def cache_by_model(db, run_id: str) -> list[dict]:
    return _rows(db, "SELECT * FROM llm_cache_by_run_model WHERE run_id = %(run_id)s ORDER BY model",
                 {"run_id": run_id})


def run_summary(db, run_id: str) -> dict | None:
    """The run's row with its call, execution and sample totals; None for an unknown run."""
    rows = _rows(db, _RUN_SUMMARY_SQL, {"run_id": run_id})
    return rows[0] if rows else None


def list_runs(db, limit: int = 50) -> list[dict]:
    return _rows(db, "SELECT run_id, started_at, finished_at, status, label, sweep_id, git_sha FROM runs "
                     "ORDER BY started_at DESC LIMIT %(limit)s", {"limit": limit})


def latest_run_id(db) -> str | None:
    rows = _rows(db, "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1", {})
    return rows[0]["run_id"] if rows else None
