"""Comparison tables read back from TimescaleDB: `python -m evals.report [run=latest] [format=markdown]`.

Per-sample rows come from the `samples` table joined with per-query sums over the raw
`llm_calls` rows, so every number in a table can be traced to the calls behind it.
With the database off, the same table is built from the run's JSONL.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rlm.errors import RLMError

from evals.errors import EvalError
from evals.models import run_label
from evals.summary import render, summarize

_SAMPLE_ROWS_SQL = """
SELECT s.query_id, s.task, s.family, s.size_tokens, s.method, s.model, s.sub_model, s.depth,
       s.score, s.error, s.stop_reason, s.latency_ms,
       COALESCE(c.calls, 0) AS calls, COALESCE(c.sub_calls, 0) AS sub_calls,
       COALESCE(c.prompt_tokens, 0) AS prompt_tokens, COALESCE(c.cached_tokens, 0) AS cached_tokens,
       COALESCE(c.completion_tokens, 0) AS completion_tokens,
       CASE WHEN COALESCE(c.unknown_cost, 0) > 0 THEN NULL ELSE COALESCE(c.cost_usd, 0) END AS cost_usd
FROM samples s
LEFT JOIN (
    SELECT query_id, count(*) AS calls, count(*) FILTER (WHERE role = 'sub') AS sub_calls,
           sum(prompt_tokens) AS prompt_tokens, sum(cached_tokens) AS cached_tokens,
           sum(completion_tokens) AS completion_tokens, sum(cost_usd) AS cost_usd,
           count(*) FILTER (WHERE cost_usd IS NULL) AS unknown_cost
    FROM llm_calls WHERE run_id = %(run_id)s GROUP BY query_id
) c ON c.query_id = s.query_id
WHERE s.run_id = %(run_id)s
ORDER BY s.method, s.sample_index
"""


def sample_rows_from_db(dsn: str, run_id: str) -> list[dict]:
    """One dict per finished sample of `run_id`, with its call totals summed from llm_calls."""
    from rlm.telemetry import connect

    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(_SAMPLE_ROWS_SQL, {"run_id": run_id})
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def stored_label(dsn: str | None, run_id: str) -> str:
    from rlm.telemetry import queries

    if dsn is None:
        return ""
    summary = queries.run_summary(dsn, run_id) or {}
    return summary.get("label") or ""


def render_run(rows: list[dict], run_id: str, label: str, fmt: str) -> str:
    title = f"## run {run_id}" + (f" · {label}" if label else "")
    if label == "sim":
        title += " (simulated models: these numbers test the harness, they are not model results)"
    return render(summarize(rows), fmt, title=title)


def report_for_run(outcome: Any, cfg: Any) -> tuple[str, Path]:
    """The table at the end of a run: from the database when there is one, else from the JSONL."""
    from dataclasses import asdict

    if outcome.dsn is not None:
        rows = sample_rows_from_db(outcome.dsn, outcome.run_id)
    else:
        rows = [asdict(r) for r in outcome.results]
    text = render_run(rows, outcome.run_id, run_label(cfg) or "", cfg.report_format)
    suffix = {"markdown": "md", "csv": "csv", "latex": "tex"}[cfg.report_format]
    path = outcome.store.write_text(f"report.{suffix}", text)
    return text, path


def main(argv: list[str]) -> int:
    """`run=RUN_ID|latest format=markdown|csv|latex dsn=...` (key=value, like the run's overrides)."""
    args = dict(a.split("=", 1) for a in argv if "=" in a)
    bad = [a for a in argv if "=" not in a] + [k for k in args if k not in ("run", "format", "dsn", "out")]
    if bad:
        print(f"error: unknown argument {bad[0]!r}; use run=RUN_ID|latest format=markdown|csv|latex", file=sys.stderr)
        return 2
    fmt = args.get("format", "markdown")
    if fmt not in ("markdown", "csv", "latex"):
        print(f"error: format must be markdown, csv or latex, got {fmt!r}", file=sys.stderr)
        return 2
    try:
        from rlm.telemetry import queries, resolve_dsn

        dsn = resolve_dsn(args.get("dsn"))
        run_id = args.get("run", "latest")
        if run_id == "latest":
            run_id = queries.latest_run_id(dsn)
            if run_id is None:
                raise EvalError("the database holds no runs yet: run `python -m evals.run` first")
        rows = sample_rows_from_db(dsn, run_id)
        if not rows:
            raise EvalError(f"run {run_id!r} has no finished samples in the database")
        text = render_run(rows, run_id, stored_label(dsn, run_id), fmt)
    except RLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(text)
    if "out" in args:
        Path(args["out"]).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
