"""`python -m evals.show [RUN] [SAMPLE]`: what the RLM did, sample by sample, in the terminal.

With no SAMPLE, the run's samples (filter with --wrong / --errors); with one, its trajectory:
turns, cells (In / Out), sub-calls, child RLMs, and the answer next to the expected one.
RUN is a run id or `latest`; SAMPLE is a row number of the list, a query id, a sample id, or
`method:sample_id`. Read from TimescaleDB, or from the run's files when the DB is off.
"""
from __future__ import annotations

import argparse
import sys

from rich.console import Console

from rlm.errors import RLMError

from evals.errors import EvalError
from evals.run_source import RunSource, open_run
from evals.show_render import Renderer, sample_table

READ_CHARS = 20_000  # per text read from the database unless --full (the page shows less)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evals.show", description=__doc__.splitlines()[0])
    p.add_argument("run", nargs="?", default="latest", help="run id, or latest (default)")
    p.add_argument("sample", nargs="?", help="row number, query id, sample id or method:sample_id")
    p.add_argument("--wrong", action="store_true", help="only samples scored below 1")
    p.add_argument("--errors", action="store_true", help="only samples that ended in an error")
    p.add_argument("--full", action="store_true", help="every text whole (up to what was stored)")
    p.add_argument("--calls", action="store_true", help="every sub-call, not only the first of each cell")
    p.add_argument("--results", default="results", help="the results directory (default: results)")
    p.add_argument("--source", default="auto", choices=("auto", "db", "local"),
                   help="read the database, the run's files, or the first that works (default)")
    p.add_argument("--dsn", help="a TimescaleDB DSN (default: $RLM_TSDB_DSN, else the embedded one)")
    return p


def filter_rows(rows: list[dict], *, wrong: bool, errors: bool) -> list[dict]:
    if wrong:
        rows = [r for r in rows if r.get("score") is None or r["score"] < 1.0]
    if errors:
        rows = [r for r in rows if r.get("error")]
    return rows


def find_sample(rows: list[dict], key: str) -> dict:
    """The one row `key` names; EvalError when none or several do."""
    if key.isdigit():
        index = int(key)
        if not 1 <= index <= len(rows):
            raise EvalError(f"sample #{index} does not exist: the run has {len(rows)} samples")
        return rows[index - 1]
    for match in (lambda r: r["query_id"] == key,
                  lambda r: r["query_id"].startswith(key + ":") or r["query_id"].startswith(key),
                  lambda r: r.get("sample_id") == key):
        hits = [r for r in rows if match(r)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            names = ", ".join(r["query_id"] for r in hits[:4])
            raise EvalError(f"sample {key!r} is ambiguous ({names}); use method:sample_id or a row number")
    raise EvalError(f"no sample {key!r} in this run; `python -m evals.show RUN` lists them")


def show(args: argparse.Namespace, console: Console) -> int:
    source: RunSource = open_run(args.run, results_dir=args.results, source=args.source, dsn=args.dsn)
    rows = source.samples()
    if not rows:
        raise EvalError(f"run {source.run_id!r} has no finished samples ({source.where})")
    title = f"run {source.run_id}" + (f" · {source.label}" if source.label else "") + f" · from {source.where}"
    if source.label == "sim":
        title += "\nsimulated models: these numbers test the harness, they are not model results"
    if args.sample is None:
        shown = filter_rows(rows, wrong=args.wrong, errors=args.errors)
        console.print(title, style="bold", highlight=False)
        numbers = [next(i for i, r in enumerate(rows, 1) if r is row) for row in shown]  # numbers of the full list
        console.print(sample_table(shown, numbers=numbers))
        what = " (filtered)" if args.wrong or args.errors else ""
        console.print(f"{len(shown)} of {len(rows)} samples{what} · "
                      f"`python -m evals.show {source.run_id} N` shows sample N", style="dim", highlight=False)
        return 0
    row = find_sample(rows, args.sample)
    traj = source.trajectory(row["query_id"], None if args.full else READ_CHARS,
                             first_prompts_only=not (args.full or args.calls))  # folded: one prompt per cell
    console.print(title, style="dim", highlight=False)
    console.print(Renderer(full=args.full, expand_calls=args.calls).trajectory(traj, row))
    return 0


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    args = parser().parse_args(argv)
    console = console or Console(highlight=False)
    try:
        return show(args, console)
    except RLMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
