"""`python -m evals.db start|stop|status|url|migrate|maintain|ingest|ship|runs|summary|cache|calls|slowest`.

A thin command line over rlm.telemetry: each command is one call and a table. Every command acts
on the embedded server, or given `db=native` anywhere on the line, on the native TimescaleDB server
started from a local build (`.ci/native_tsdb.sh build`; $RLM_TSDB_NATIVE_BIN names its bin
directory, its tree or a cache of builds), as `evals.run db=native` does; `--dsn` names any other.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tabulate import tabulate

from rlm.errors import RLMError
from rlm.telemetry import (embedded_status, ingest, maintain, migrate, queries, refresh_aggregates,
                           resolve_dsn, start_embedded, stop_embedded)
from rlm.telemetry.native import native_status, start_native, stop_native
from rlm.telemetry.connection import DSN_ENV, redact
from rlm.telemetry.embedded import HOME_ENV


def _table(rows: list[dict]) -> str:
    return tabulate(rows, headers="keys", floatfmt=".4g") if rows else "(no rows)"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evals.db", description=__doc__.splitlines()[0],
                                epilog="db=embedded (the default) or db=native, anywhere on the line: which local server")
    p.add_argument("--dsn", help=f"a TimescaleDB DSN (default: ${DSN_ENV}, else the embedded one)")
    p.add_argument("--home", help="the embedded database's home (default: $RLM_EVALS_HOME or ./.rlm-evals)")
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("start", "stop", "status", "url"):
        server = sub.add_parser(name)
        server.add_argument("--bin", help="db=native: the PostgreSQL bin directory of a TimescaleDB build")
    for name in ("migrate", "runs"):
        sub.add_parser(name)
    sub.add_parser("maintain", help="run the due policy jobs (aggregate refresh, compression, retention) "
                   "where no background worker runs them").add_argument(
        "--force", action="store_true", help="run every policy job now, on any server")
    ing = sub.add_parser("ingest", help="replay a spool directory into the database")
    ing.add_argument("spool_dir", type=Path)
    ship = sub.add_parser("ship", help="load a run's record (results/runs/RUN/record.jsonl) into the database")
    ship.add_argument("run", help="a run id, or a run directory")
    ship.add_argument("--results-dir", default="results")
    for name in ("summary", "cache", "slowest"):
        sub.add_parser(name).add_argument("run_id")
    calls = sub.add_parser("calls")
    calls.add_argument("run_id")
    calls.add_argument("--query-id")
    return p


def run(args: argparse.Namespace) -> str:
    """The command's output text (raises RLMError on bad input or an unreachable database)."""
    if args.home:  # every command, not only start/stop/status, uses this home's servers
        os.environ[HOME_ENV] = args.home
    if args.backend == "native" and args.command in ("start", "stop", "status", "url"):
        return _native(args)
    if args.command == "start":
        dsn = start_embedded(args.home)
        migrate(dsn)
        return dsn
    if args.command == "stop":
        return "stopped" if stop_embedded(args.home) else "not running"
    if args.command == "status":
        s = embedded_status(args.home)
        state = f"running pid {s.pid} port {s.port}" if s.running else "not running"
        return f"embedded TimescaleDB ({s.home}): {state}"
    dsn = _data_dsn(args, start=args.command in ("migrate", "ingest", "maintain"))
    if args.command == "maintain":
        migrate(dsn)
        jobs = maintain(dsn, force=args.force)
        if not jobs:
            return ("no policy job run: none is due, or the server runs them in its background workers "
                    "(--force runs them all now)")
        failed = [j for j in jobs if j.error]
        if failed:
            raise RLMError(f"{len(failed)} of {len(jobs)} policy jobs failed: " + "; ".join(
                f"job {j.job_id} ({j.proc_name} on {j.target}): {j.error}" for j in failed))
        return _table([{"job": j.job_id, "policy": j.proc_name, "on": j.target, "seconds": j.seconds}
                       for j in jobs])
    if args.command == "ship":
        from evals.projection import ship_command
        return ship_command(args.run, args.dsn or (dsn if args.backend == "native" else None), args.results_dir)
    if args.command == "url":
        return dsn  # as configured, for psql; never logged
    if args.command == "migrate":
        applied = migrate(dsn)
        return f"applied {applied}" if applied else "schema up to date"
    if args.command == "ingest":
        return f"ingested {ingest(args.spool_dir, dsn)} items from {args.spool_dir}"
    if args.command == "runs":
        return _table(queries.list_runs(dsn))
    if args.command == "summary":
        summary = queries.run_summary(dsn, args.run_id)
        if summary is None:
            raise RLMError(f"no run {args.run_id!r} in the database")
        refresh_aggregates(dsn)
        return (tabulate(sorted(summary.items()), tablefmt="plain") + "\n\n"
                + _table(queries.latency_metrics(dsn, args.run_id)))
    if args.command == "cache":
        return (_table([queries.cache_summary(dsn, args.run_id)]) + "\n\n"
                + _table(queries.cache_by_model(dsn, args.run_id)))
    if args.command == "calls":
        return _table(queries.calls(dsn, args.run_id, args.query_id))
    if args.command == "slowest":
        return ("slowest calls\n" + _table(queries.slowest_calls(dsn, args.run_id)) + "\n\nslowest executions\n"
                + _table(queries.slowest_executions(dsn, args.run_id)))
    raise AssertionError(args.command)


def _data_dsn(args: argparse.Namespace, start: bool) -> str:
    """The database a data command reads or writes: --dsn, else the local server `db=` names."""
    if args.dsn or args.backend != "native":
        return resolve_dsn(args.dsn, start=start)
    return _native_dsn(args.home)


def _native_dsn(home: str | None) -> str:
    s = native_status(home)
    if not s.running:
        raise RLMError("the native TimescaleDB is not running; start it with `python -m evals.db start db=native`")
    return s.dsn


def _native(args: argparse.Namespace) -> str:
    if args.command == "start":
        dsn = start_native(args.home, args.bin)
        migrate(dsn)
        return dsn
    if args.command == "stop":
        return "stopped" if stop_native(args.home) else "not running"
    if args.command == "url":
        return _native_dsn(args.home)
    s = native_status(args.home)
    return f"native TimescaleDB ({s.home}): " + (f"running port {s.port}" if s.running else "not running")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    backends = [a for a in argv if a.startswith("db=")]
    if any(b not in ("db=embedded", "db=native") for b in backends) or len(set(backends)) > 1:
        print(f"error: {' '.join(backends)}: give one of db=embedded, db=native", file=sys.stderr)
        return 2
    args = _parser().parse_args([a for a in argv if not a.startswith("db=")])
    args.backend = backends[0][3:] if backends else "embedded"
    try:
        print(run(args))
    except RLMError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
