"""Comparison tables: `python -m evals.report [run=latest] [format=markdown]`.

Rows are SampleResults: at the end of a run, from its record (results/runs/<id>/record.jsonl);
from the command line, from TimescaleDB's `samples` table, the record's projection (the latest
attempt per method and sample, so a retried transient failure never doubles n). Both give the
same dicts to evals.summary, so both print the same table.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable

from rlm.errors import RLMError

from evals.errors import EvalError
from evals.summary import render, summarize

# Per-query sums of llm_calls fill the token columns of rows written before migration 005.
_SAMPLE_ROWS_SQL = """
SELECT * FROM (
    SELECT DISTINCT ON (s.method, COALESCE(s.sample_id, s.query_id))
           s.query_id, COALESCE(s.sample_id, s.query_id) AS sample_id, s.sample_index, s.task, s.family,
           s.size_tokens, s.method, s.model, s.sub_model, s.depth, s.score, s.correct, s.answer, s.expected,
           s.error, s.error_kind, COALESCE(s.transient, false) AS transient, s.stop_reason, s.iterations,
           s.latency_ms,
           COALESCE(s.calls, c.calls, 0) AS calls, COALESCE(s.sub_calls, c.sub_calls, 0) AS sub_calls,
           COALESCE(s.prompt_tokens, c.prompt_tokens, 0) AS prompt_tokens,
           COALESCE(s.cached_tokens, c.cached_tokens, 0) AS cached_tokens,
           COALESCE(s.completion_tokens, c.completion_tokens, 0) AS completion_tokens,
           CASE WHEN s.calls IS NOT NULL THEN s.cost_usd
                WHEN COALESCE(c.unknown_cost, 0) > 0 THEN NULL ELSE COALESCE(c.cost_usd, 0) END AS cost_usd
    FROM samples s
    LEFT JOIN (
        SELECT query_id, count(*) AS calls, count(*) FILTER (WHERE role = 'sub') AS sub_calls,
               sum(prompt_tokens) AS prompt_tokens, sum(cached_tokens) AS cached_tokens,
               sum(completion_tokens) AS completion_tokens, sum(cost_usd) AS cost_usd,
               count(*) FILTER (WHERE cost_usd IS NULL) AS unknown_cost
        FROM llm_calls WHERE run_id = %(run_id)s GROUP BY query_id
    ) c ON c.query_id = s.query_id
    WHERE s.run_id = %(run_id)s
    ORDER BY s.method, COALESCE(s.sample_id, s.query_id), s.time DESC
) latest ORDER BY method, sample_index
"""


def sample_rows_from_db(dsn: str, run_id: str) -> list[dict]:
    """One dict per (method, sample) of `run_id`: its latest attempt, with the SampleResult's fields."""
    from rlm.telemetry import connect

    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(_SAMPLE_ROWS_SQL, {"run_id": run_id})
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def rows_of(results: Iterable[Any]) -> list[dict]:
    """SampleResults as the dicts evals.summary reads."""
    return [r.to_dict() for r in results]


def title(run_id: str, *, simulated: bool, label: str | None) -> str:
    text = f"## run {run_id}" + (" · sim" if simulated else "") + (f" · {label}" if label else "")
    if simulated:
        text += " (simulated models: these numbers test the harness, they are not model results)"
    return text


def render_run(rows: list[dict], run_id: str, fmt: str, *, simulated: bool, label: str | None) -> str:
    return render(summarize(rows), fmt, title=title(run_id, simulated=simulated, label=label))


def report_for_run(outcome: Any) -> tuple[str, Path]:
    """The table at the end of a run, from its record; saved beside it as report.md|csv|tex."""
    plan = outcome.plan
    text = render_run(rows_of(outcome.results), plan.run_id, plan.report_format, simulated=plan.simulated,
                      label=plan.label)
    suffix = {"markdown": "md", "csv": "csv", "latex": "tex"}[plan.report_format]
    path = outcome.log.dir / f"report.{suffix}"
    path.write_text(text, encoding="utf-8", errors="backslashreplace")
    path.chmod(0o600)
    return text, path


def _stored_run(dsn: str, run_id: str) -> dict:
    from rlm.telemetry import connect

    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT label, COALESCE(simulated, label = 'sim') FROM runs WHERE run_id = %s", (run_id,))
        row = cur.fetchone()
    return {"label": row[0], "simulated": bool(row[1])} if row else {"label": None, "simulated": False}


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
        text = render_run(rows, run_id, fmt, **_stored_run(dsn, run_id))
    except RLMError as exc:
        from rlm.telemetry import redact

        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 2
    print(text)
    if "out" in args:
        Path(args["out"]).write_text(text, encoding="utf-8", errors="backslashreplace")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
