"""A Hydra sweep as one result: a shared sweep id, a job manifest, one comparison table and plots.

Jobs may run in other processes or on other machines (joblib, Ray, SLURM), so nothing is
shared in memory: the sweep id is derived from Hydra's sweep dir (identical in every job,
Hydra copies the master config's resolver cache), each job records itself in
`results/sweeps/<sweep_id>/jobs/<num>.json` when it ends, and `on_multirun_end` builds the
table from those runs' JSONL (or from TimescaleDB for runs whose files are elsewhere).

    python -m evals.sweep SWEEP_ID [results_dir=results]   # rebuild a sweep's table and plots
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from evals.html_report import write_sweep_html_report
from evals.store import RunStore
from evals.summary import render, summarize
from evals.tasks.sizes import format_size

log = logging.getLogger(__name__)

# conf/hydra/launcher/*.yaml share their names with the launcher plugins' structured configs on
# purpose: Hydra then validates our values against the plugin's schema. It warns that this
# matching is deprecated; it is what we want, so the warning is noise for every sweep.
warnings.filterwarnings("ignore", message=r"\s*'hydra/launcher/\w+' is validated against ConfigStore schema")

# Overrides that are axes of the table already, or do not change results: not a "variant".
_AXES = {"task", "size", "model", "model@sub_model", "sub_model", "method", "depth", "seed", "samples", "db",
         "results_dir", "cache_dir", "concurrency", "console", "label", "sweep_id", "report_format",
         "response_cache", "task.params.depth_percent"}


def sweep_id_for(sweep_dir: str) -> str:
    """`<sweep dir name>-<hash of its path>`: readable, and the same string in every job of a sweep."""
    digest = hashlib.sha256(str(sweep_dir).encode()).hexdigest()[:6]
    return f"{Path(str(sweep_dir)).name}-{digest}"


def apply_sweep_id(cfg: DictConfig) -> None:
    """In multirun mode give the job its sweep's id (an explicit `sweep_id=` wins)."""
    if cfg.get("sweep_id") or not HydraConfig.initialized():
        return
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:
        cfg.sweep_id = sweep_id_for(hydra_cfg.sweep.dir)


def sweep_dir(results_dir: str | Path, sweep_id: str) -> Path:
    return Path(results_dir) / "sweeps" / sweep_id


def master_sweep_id(config: DictConfig) -> str:
    return config.get("sweep_id") or sweep_id_for(config.hydra.sweep.dir)


class SweepCallback(Callback):
    """Records each job of a multirun, and gathers the sweep into one table and plots at its end."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # A re-run under the same explicit sweep_id re-records every job: drop the old manifest.
        shutil.rmtree(sweep_dir(config.results_dir, master_sweep_id(config)) / "jobs", ignore_errors=True)

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
            return
        try:
            record_job(job_return.cfg, HydraConfig.get(), job_return.status.name)
        except Exception as exc:  # noqa: BLE001 - a bad manifest entry must not fail a finished job
            log.warning("could not record the job in the sweep manifest: %s", exc)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_id = master_sweep_id(config)
        out = gather(config.results_dir, sweep_id)
        if out is None:
            log.warning("sweep %s: no finished runs to compare", sweep_id)
            return
        print(out.read_text(encoding="utf-8"))
        print(f"sweep table and plots: {out.parent}")


def record_job(cfg: DictConfig, hydra_cfg: Any, status: str) -> Path:
    """Write this job's manifest entry: its run_id, overrides, status and whether it was simulated."""
    from evals.models import run_label
    from evals.runner import run_id_for

    sweep_id = cfg.get("sweep_id") or sweep_id_for(hydra_cfg.sweep.dir)
    entry = {
        "job_num": int(hydra_cfg.job.num), "run_id": run_id_for(cfg), "status": status,
        "overrides": list(hydra_cfg.overrides.task), "results_dir": str(cfg.results_dir),
        "simulated": run_label(cfg) == "sim",
        "sim_time_scale": float(cfg.sim.time_scale), "db": cfg.db.mode, "db_dsn": cfg.db.dsn,
    }
    path = sweep_dir(cfg.results_dir, sweep_id) / "jobs" / f"{entry['job_num']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entry, indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


def load_jobs(results_dir: str | Path, sweep_id: str) -> list[dict]:
    jobs_dir = sweep_dir(results_dir, sweep_id) / "jobs"
    jobs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(jobs_dir.glob("*.json"))]
    return sorted(jobs, key=lambda j: j["job_num"])


def variant_of(overrides: list[str], varying: set[str]) -> str:
    """The job's swept settings that are not table axes, e.g. `rlm.max_iterations=4`."""
    parts = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") in varying]
    return " ".join(parts)


def _varying_keys(jobs: list[dict]) -> set[str]:
    values: dict[str, set[str]] = defaultdict(set)
    for job in jobs:
        for override in job["overrides"]:
            key, _, value = override.partition("=")
            values[key.lstrip("+~")].add(value)
    return {k for k, v in values.items() if len(v) > 1 and k not in _AXES and not k.startswith("hydra.")}


def rows_for_run(results_dir: str | Path, run_id: str, dsn: str | None = None) -> list[dict]:
    """A run's sample rows: its JSONL when it is on this machine, else the database's rows."""
    store_path = Path(results_dir) / "runs" / run_id / "samples.jsonl"
    if store_path.exists():
        from dataclasses import asdict

        return [asdict(r) for r in RunStore(results_dir, run_id).load()]
    if dsn is None:
        return []
    from evals.report import sample_rows_from_db

    rows = sample_rows_from_db(dsn, run_id)
    for row in rows:  # query_id is "<method>:<sample_id>:<nonce>" (evals.runner)
        query_id = str(row.get("query_id") or "")
        row.setdefault("sample_id", query_id.split(":")[1] if query_id.count(":") >= 2 else query_id)
        row.setdefault("metadata", {})
    return rows


def sweep_rows(jobs: list[dict], results_dir: str | Path) -> list[dict]:
    """Every sample row of the sweep, tagged with its variant; a sample shared by two runs counts once.

    Sweeping depth re-runs the baseline (which ignores depth) once per depth on the same samples:
    counting those copies would inflate n and shrink the standard error.
    """
    varying = _varying_keys(jobs)
    dsn = _dsn_if_any(jobs)
    seen: set[tuple] = set()
    rows = []
    for job in jobs:
        variant = variant_of(job["overrides"], varying)
        for row in rows_for_run(job.get("results_dir", results_dir), job["run_id"], dsn):
            key = (variant, row["task"], row["size_tokens"], row["method"], row["model"], row.get("sub_model"),
                   row.get("depth"), row["sample_id"])
            if key in seen:
                continue
            seen.add(key)
            rows.append({"run_id": job["run_id"], **row, "variant": variant})
    return rows


def _dsn_if_any(jobs: list[dict]) -> str | None:
    """The sweep's database, if it used one and it is up (never started just to read)."""
    used = [job for job in jobs if job.get("db") != "off"]
    if not used:
        return None
    try:
        from rlm.telemetry import resolve_dsn

        return resolve_dsn(used[0].get("db_dsn"), start=False)
    except Exception:  # noqa: BLE001 - no database: the table comes from the files alone
        return None


def groups_by_variant(rows: list[dict]) -> list[dict]:
    """evals.summary.summarize per variant, each group tagged with its variant."""
    by_variant: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_variant[row.get("variant", "")].append(row)
    return [{**g, "variant": v} for v, vrows in sorted(by_variant.items()) for g in summarize(vrows)]


def column_label(group: dict) -> str:
    model = group["model"] + (f"→{group['sub_model']}" if group.get("sub_model") else "")
    depth = "" if group.get("depth") is None else f" d{group['depth']}"
    variant = f" [{group['variant']}]" if group.get("variant") else ""
    return f"{group['method']} {model}{depth}{variant}"


def _cell(group: dict) -> str:
    cost = "cost ?" if group["cost_mean"] is None else f"${group['cost_mean']:.4f}"
    return f"{group['accuracy']:.3f} ± {group['accuracy_se']:.3f} · {cost}"


def comparison_table(groups: list[dict], fmt: str = "github") -> str:
    """Rows task x size, columns method / model / depth; cells accuracy ± stderr · mean cost per sample."""
    from tabulate import tabulate

    columns = list(dict.fromkeys(column_label(g) for g in groups))
    cells: dict[tuple, dict[str, str]] = defaultdict(dict)
    for g in groups:
        cells[(g["task"], g["size_tokens"])][column_label(g)] = _cell(g)
    body = [[task, format_size(size), *(cells[(task, size)].get(c, "-") for c in columns)]
            for task, size in sorted(cells)]
    return tabulate(body, headers=["task", "size", *columns], tablefmt=fmt)


def gather(results_dir: str | Path, sweep_id: str) -> Path | None:
    """Write the sweep's comparison.md, groups.json and PNG plots; return the markdown's path."""
    from evals import plots

    jobs = load_jobs(results_dir, sweep_id)
    rows = sweep_rows(jobs, results_dir)
    if not rows:
        return None
    out_dir = sweep_dir(results_dir, sweep_id)
    simulated = any(job.get("simulated") for job in jobs)
    groups = groups_by_variant(rows)
    sim_note = " (sim: simulated models; these numbers test the harness, they are not model results)"
    failed = [j for j in jobs if j["status"] != "COMPLETED"]
    text = (f"## sweep {sweep_id}{sim_note if simulated else ''}\n\n"
            f"{len(jobs)} jobs ({len(failed)} failed), cells: accuracy ± stderr · mean cost per sample (USD)\n\n"
            f"{comparison_table(groups)}\n\n"
            + render(groups, "markdown", title="### every group") + "\n"
            + plots.write_all(rows, groups, out_dir, sweep_id=sweep_id, simulated=simulated))
    (out_dir / "groups.json").write_text(json.dumps(groups, indent=1, default=str), encoding="utf-8")
    write_sweep_html_report(out_dir, rows, results_dir=results_dir, dsn=_dsn_if_any(jobs), simulated=simulated)
    path = out_dir / "comparison.md"
    path.write_text(text, encoding="utf-8")
    return path


CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


def compose_config(overrides: list[str], *, with_hydra: bool = False) -> DictConfig:
    """The repo's config composed with `overrides`, as `python -m evals.run` would see it (no sweep syntax)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from evals.config import register_configs

    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="evals"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=with_hydra)


def expand_grid(overrides: list[str]) -> list[list[str]]:
    """One override list per job, like `-m`: `size=8K,16K depth=0,1` gives 4; an experiment's
    `hydra.sweeper.params` join in, and a later override of the same key replaces an earlier one."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    latest = {o.get_key_element().lstrip("+~"): o for o in parser.parse_overrides(list(overrides))}
    overrides = [o.input_line for o in latest.values()]
    plain = [o.input_line for o in latest.values() if not o.is_sweep_override()]
    params = compose_config(plain, with_hydra=True).hydra.sweeper.get("params") or {}
    lines = [f"{k}={v}" for k, v in params.items()] + list(overrides)
    (jobs,) = BasicSweeper.split_arguments(parser.parse_overrides(lines), max_batch_size=None)
    return jobs


def run_grid(overrides: list[str], *, sweep_id: str, console: Any = None) -> list[dict]:
    """Run every job of a grid in this process, one after another; returns their manifest entries."""
    from types import SimpleNamespace

    from evals.runner import run_eval

    entries = []
    for num, job in enumerate(expand_grid(overrides)):
        cfg = compose_config([*job, f"sweep_id={sweep_id}"])
        outcome = run_eval(cfg, console=console)
        hydra_like = SimpleNamespace(job=SimpleNamespace(num=num), overrides=SimpleNamespace(task=job),
                                     sweep=SimpleNamespace(dir=""))
        path = record_job(cfg, hydra_like, "INTERRUPTED" if outcome.interrupted else "COMPLETED")
        entries.append(json.loads(path.read_text(encoding="utf-8")))
        if outcome.interrupted:
            raise KeyboardInterrupt
    return entries


def main(argv: list[str]) -> int:
    args = [a for a in argv if "=" not in a]
    opts = dict(a.split("=", 1) for a in argv if "=" in a)
    if len(args) != 1 or set(opts) - {"results_dir"}:
        print("usage: python -m evals.sweep SWEEP_ID [results_dir=results]", file=sys.stderr)
        return 2
    path = gather(opts.get("results_dir", "results"), args[0])
    if path is None:
        print(f"error: sweep {args[0]!r} has no recorded runs with results", file=sys.stderr)
        return 2
    print(path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main(sys.argv[1:]))
