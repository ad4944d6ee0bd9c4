"""`python -m evals.run task=niah size=1M`: the main job, RLM_REPL against a plain LM.

Thin Hydra edge: compose the config, call `evals.runner.run_eval`, print the report.
Bad input ends with one line on stderr and exit code 2.
"""
from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig
from rich.console import Console

from rlm.errors import RLMError

from evals.config import register_configs
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
    outcome = run_eval(cfg, console=Console(stderr=True))
    text, path = report_for_run(outcome, cfg)
    write_run_html_report(outcome.store.dir, outcome.results, dsn=outcome.dsn)
    print(text, flush=True)
    print(f"report: {path}", flush=True)
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
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    hydra_main()
