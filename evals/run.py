"""`python -m evals.run task=niah size=1M`: the main job, RLM_REPL against a plain LM.

Thin Hydra edge: compose the config, freeze it into a RunPlan (evals.plan), run it, print the
report. Every usage error, Hydra's own included, ends with one line on stderr and exit code 2.
"""
from __future__ import annotations

import logging
import os
import sys

import hydra
from omegaconf import DictConfig
from rich.console import Console

from rlm.errors import RLMError

from evals.cli import guard_usage_errors, protect_process, secrets_out_of_argv
from evals.plan import plan_from_config, register_configs
from evals.html_report import write_run_html_report
from evals.report import report_for_run
from evals.runner import run_eval
from evals.sweep import apply_sweep_id

register_configs()
log = logging.getLogger("evals")


def main(cfg: DictConfig) -> float | None:
    """Run, then print and save the comparison table; returns mean RLM accuracy (for sweepers)."""
    for noisy in ("httpx", "httpx2", "openai", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    plan = plan_from_config(cfg)
    outcome = run_eval(plan, console=Console(stderr=True))
    text, path = report_for_run(outcome)
    if outcome.db_note:
        print(outcome.db_note, file=sys.stderr, flush=True)
    write_run_html_report(outcome.log.dir, outcome.results)
    print(text, flush=True)
    print(f"report: {path}", flush=True)
    transient = [r for r in outcome.results if r.transient]
    if transient:
        kinds = ", ".join(sorted({r.error_kind or "?" for r in transient}))
        print(f"note: {len(transient)} samples failed transiently ({kinds}); run the same command again to retry "
              f"them", file=sys.stderr, flush=True)
    if outcome.interrupted:
        sys.exit(130)
    scores = [r.score for r in outcome.results if r.method == "rlm"]
    return sum(scores) / len(scores) if scores else None


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def hydra_main(cfg: DictConfig) -> float | None:
    try:
        apply_sweep_id(cfg)  # every job of a multirun shares one sweep id (runs table)
        return main(cfg)
    except RLMError as exc:
        from rlm.telemetry import redact

        print(f"error: {redact(str(exc))}", file=sys.stderr)
        sys.exit(2)


def cli() -> None:
    protect_process()
    sys.argv[1:] = secrets_out_of_argv(sys.argv[1:])
    guard_usage_errors(hydra_main)


if __name__ == "__main__":
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")  # Hydra raises; guard_usage_errors prints one line
    cli()
