"""A Hydra sweep as one result: a shared sweep id, a job manifest, then one table and plots.

Jobs may run in other processes or on other machines (joblib, Ray, SLURM), so nothing is
shared in memory: the sweep id is derived from Hydra's sweep dir (identical in every job,
Hydra copies the master config's resolver cache), each job records itself in
`results/sweeps/<sweep_id>/jobs/<num>.json` when it ends, and `on_multirun_end` builds the
table from those runs' records (evals.sweep_table; TimescaleDB for runs whose files are elsewhere).

    python -m evals.sweep SWEEP_ID [results_dir=results]   # rebuild a sweep's table and plots
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from evals.plan import RunPlan, compose_config, expand_grid, plan_from_config
from evals.sweep_table import gather, screen_summary, sweep_dir

log = logging.getLogger(__name__)

# conf/hydra/launcher/*.yaml share their names with the launcher plugins' structured configs on
# purpose: Hydra then validates our values against the plugin's schema. It warns that this
# matching is deprecated; it is what we want, so the warning is noise for every sweep.
warnings.filterwarnings("ignore", message=r"\s*'hydra/launcher/\w+' is validated against ConfigStore schema")


def sweep_id_for(sweep_dir_path: str) -> str:
    """`<sweep dir name>-<hash of its path>`: readable, and the same string in every job of a sweep."""
    digest = hashlib.sha256(str(sweep_dir_path).encode()).hexdigest()[:6]
    return f"{Path(str(sweep_dir_path)).name}-{digest}"


def apply_sweep_id(cfg: DictConfig) -> None:
    """In multirun mode give the job its sweep's id (an explicit `sweep_id=` wins)."""
    if cfg.get("sweep_id") or not HydraConfig.initialized():
        return
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:
        cfg.sweep_id = sweep_id_for(hydra_cfg.sweep.dir)


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
        hydra_cfg = HydraConfig.get()
        try:
            plan = plan_from_config(job_return.cfg)
            sweep_id = plan.sweep_id or sweep_id_for(hydra_cfg.sweep.dir)
            record_job(plan, sweep_id, int(hydra_cfg.job.num), list(hydra_cfg.overrides.task),
                       job_return.status.name)
        except Exception as exc:  # noqa: BLE001 - a bad manifest entry must not fail a finished job
            log.warning("could not record the job in the sweep manifest: %s", exc)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_id = master_sweep_id(config)
        out = gather(config.results_dir, sweep_id)
        if out is None:
            log.warning("sweep %s: no finished runs to compare", sweep_id)
            return
        print(screen_summary(out))
        print(f"sweep table and plots: {out.parent}")


def record_job(plan: RunPlan, sweep_id: str, job_num: int, overrides: list[str], status: str) -> Path:
    """Write this job's manifest entry: its run_id, overrides, status and whether it was simulated."""
    entry = {
        "job_num": job_num, "run_id": plan.run_id, "status": status, "overrides": overrides,
        "results_dir": str(plan.results_dir), "simulated": plan.simulated, "sim_time_scale": plan.sim_time_scale,
        "db": plan.db_mode, "db_dsn": plan.saved_config.get("db", {}).get("dsn"),  # password masked
    }
    path = sweep_dir(plan.results_dir, sweep_id) / "jobs" / f"{job_num}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entry, indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


def run_grid(overrides: list[str], *, sweep_id: str, console: Any = None) -> list[dict]:
    """Run every job of a grid in this process, one after another; returns their manifest entries."""
    from evals.runner import run_eval

    entries = []
    for num, job in enumerate(expand_grid(overrides)):
        plan = plan_from_config(compose_config([*job, f"sweep_id={sweep_id}"]))
        outcome = run_eval(plan, console=console)
        path = record_job(plan, sweep_id, num, job, "INTERRUPTED" if outcome.interrupted else "COMPLETED")
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
    print(screen_summary(path))
    print(f"sweep table and plots: {path.parent}")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main(sys.argv[1:]))
