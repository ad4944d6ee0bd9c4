"""Comparison tables: `python -m evals.report [run=latest] [format=terminal|markdown|csv|latex]`.

Rows are SampleResults: at the end of a run, from its record (results/runs/<id>/record.jsonl);
from the command line, from TimescaleDB's `samples` table, the record's projection (the latest
attempt per method and sample, so a retried transient failure never doubles n), or from the
record again when the database cannot be reached. All give the same dicts to evals.summary, so
all print the same table. The screen gets the terminal table (fits 120 columns); report.md, CSV
and LaTeX keep every column.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterable

from rlm.errors import RLMError

from evals.errors import EvalError
from evals.run_record import RECORD_NAME
from evals.run_source import local_sample_rows, run_header, sample_rows_from_db
from evals.summary import render, summarize

FORMATS = ("terminal", "markdown", "csv", "latex")
SUFFIXES = {"markdown": "md", "csv": "csv", "latex": "tex"}

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
    """The table at the end of a run, from its record: every column saved beside it as
    report.md|csv|tex; returned for the screen, the terminal table (markdown) or the file's text."""
    plan = outcome.plan
    rows = rows_of(outcome.results)
    text = render_run(rows, plan.run_id, plan.report_format, simulated=plan.simulated, label=plan.label)
    path = outcome.log.dir / f"report.{SUFFIXES[plan.report_format]}"
    path.write_text(text, encoding="utf-8", errors="backslashreplace")
    path.chmod(0o600)
    if plan.report_format == "markdown":
        text = render_run(rows, plan.run_id, "terminal", simulated=plan.simulated, label=plan.label)
    return text, path


def _stored_run(dsn: str, run_id: str) -> dict:
    from rlm.telemetry import connect

    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT label, COALESCE(simulated, label = 'sim') FROM runs WHERE run_id = %s", (run_id,))
        row = cur.fetchone()
    return {"label": row[0], "simulated": bool(row[1])} if row else {"label": None, "simulated": False}


def _from_record(run_id: str | None, results_dir: Path, fmt: str, why: str) -> str:
    """The table from the run's record when the database cannot give it; a one-line note on stderr."""
    runs = results_dir / "runs"
    if run_id in (None, "latest"):
        found = sorted((p.stat().st_mtime, p.parent) for p in runs.glob(f"*/{RECORD_NAME}")) if runs.is_dir() else []
        run_dir = found[-1][1] if found else None
    else:
        run_dir = runs / run_id if (runs / run_id / RECORD_NAME).is_file() else None
    if run_dir is None:
        raise EvalError(f"{why}, and no run {run_id or 'latest'!r} has a record under {runs}")
    rows = local_sample_rows(run_dir)
    if not rows:
        raise EvalError(f"{why}, and run {run_dir.name!r} has no finished samples in its record")
    header = run_header(run_dir)
    print(f"note: {why}; this report is from the run record {run_dir / RECORD_NAME}", file=sys.stderr, flush=True)
    return render_run(rows, run_dir.name, fmt, simulated=bool(header and header.simulated),
                      label=header.label if header else None)


def _from_db(dsn_arg: str | None, run_id: str, fmt: str, results_dir: Path, backend: str = "embedded") -> str:
    from rlm.telemetry import queries, resolve_dsn
    from rlm.telemetry.errors import TelemetryError

    try:
        # `db=native`: the local native server of db=native runs (read, never started just for a report)
        dsn = resolve_dsn(dsn_arg, start=backend != "native", backend=backend)
        if run_id == "latest":
            latest = queries.latest_run_id(dsn)
            if latest is None:
                raise EvalError("the database holds no runs yet: run `python -m evals.run` first")
            run_id = latest
        rows = sample_rows_from_db(dsn, run_id)
    except TelemetryError as exc:
        return _from_record(run_id, results_dir, fmt, f"the telemetry database cannot be read ({exc})")
    if not rows:
        if (results_dir / "runs" / run_id / RECORD_NAME).is_file():
            return _from_record(run_id, results_dir, fmt, f"run {run_id!r} is not in the database")
        raise EvalError(f"run {run_id!r} has no finished samples in the database")
    return render_run(rows, run_id, fmt, **_stored_run(dsn, run_id))


def main(argv: list[str]) -> int:
    """`run=RUN_ID|latest format=terminal|markdown|csv|latex dsn=... db=native out=FILE results_dir=results`
    (key=value, like the run's overrides)."""
    args = dict(a.split("=", 1) for a in argv if "=" in a)
    keys = ("run", "format", "dsn", "db", "out", "results_dir")
    bad = [a for a in argv if "=" not in a] + [k for k in args if k not in keys]
    if bad:
        print(f"error: unknown argument {bad[0]!r}; use run=RUN_ID|latest format={'|'.join(FORMATS)} dsn=DSN "
              "db=native out=FILE results_dir=DIR", file=sys.stderr)
        return 2
    fmt = args.get("format", "terminal")
    if fmt not in FORMATS:
        print(f"error: format must be {', '.join(FORMATS)}, got {fmt!r}", file=sys.stderr)
        return 2
    try:
        backend = "native" if args.get("db") == "native" else "embedded"
        text = _from_db(args.get("dsn"), args.get("run", "latest"), fmt, Path(args.get("results_dir", "results")),
                        backend)
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
