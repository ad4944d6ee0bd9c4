"""`python -m evals.check --baseline results/baselines/ci.json [overrides...]`: the CI regression gate.

Runs the baseline's grid again (fresh, in a temporary results dir: a resumed run would replay old
answers and hide a regression) or reads finished runs (--results), summarizes them with
evals.summary, and compares each group with the committed baseline:

- accuracy: a one-sided two-proportion z-test; when both sides are simulated the results are
  deterministic, so any change fails (an intended one is recorded with --update);
- prompt / completion tokens and cost: relative tolerances, only increases fail;
- latency p50: a looser relative tolerance plus an absolute slack; skipped when the baseline was
  simulated at time scale 0 (then latency is harness overhead, not a model's).

Exit 0 when nothing regressed, 1 with a diff table when something did, 2 on bad input.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException
from tabulate import tabulate

from rlm.errors import RLMError

from evals.cli import one_line, protect_process, secrets_out_of_argv
from evals.summary import summarize
from evals.sweep import run_grid
from evals.sweep_table import column_label, groups_by_variant, load_jobs, sweep_rows
from evals.tasks.sizes import format_size

DEFAULT_TOLERANCES = {
    "alpha": 0.05,            # one-sided significance of the accuracy z-test
    "tokens": 0.05,           # relative increase allowed in prompt and completion tokens per sample
    "cost": 0.05,             # relative increase allowed in mean cost per sample
    "latency": 0.5,           # relative increase allowed in latency p50 ...
    "latency_abs_s": 0.5,     # ... beyond this absolute slack (seconds)
}
KEY_FIELDS = ("task", "size_tokens", "method", "model", "sub_model", "depth", "variant")
RELATIVE = (("prompt_tokens", "tokens"), ("completion_tokens", "tokens"), ("cost_mean", "cost"))


@dataclass
class Finding:
    group: str
    metric: str
    baseline: Any
    current: Any
    verdict: str              # ok | REGRESSION | CHANGED | MISSING | new | skipped
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.verdict in ("REGRESSION", "CHANGED", "MISSING")


@dataclass
class GateReport:
    findings: list[Finding] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(f.failed for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def table(self, *, all_rows: bool = False) -> str:
        """Failing and new groups (every check with all_rows), under a one-line verdict."""
        shown = [f for f in self.findings if all_rows or f.verdict not in ("ok", "skipped")]
        rows = [[f.group, f.metric, _fmt(f.baseline), _fmt(f.current), f.verdict, f.note] for f in shown]
        bad = sum(f.failed for f in self.findings)
        skipped = sum(f.verdict == "skipped" for f in self.findings)
        head = (f"FAILED: {bad} regression(s) in {len(self.findings)} checks" if bad
                else f"passed: {len(self.findings) - skipped} checks" + (f", {skipped} skipped" if skipped else ""))
        if not shown:
            return head
        body = tabulate(rows, headers=["group", "metric", "baseline", "current", "verdict", "note"], tablefmt="github")
        return f"{head}\n\n{body}"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return "-" if value is None else str(value)


def group_key(group: dict) -> tuple:
    return tuple((group.get(k) or "") if k == "variant" else group.get(k) for k in KEY_FIELDS)


def group_name(group: dict) -> str:
    return f"{group['task']} {format_size(group['size_tokens'])} {column_label(group)}"


def z_test(p1: float, n1: int, p2: float, n2: int) -> float:
    """z of the two-proportion test of p2 against p1 (pooled); 0 when both are all-0 or all-1."""
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 0.0 if se == 0 else (p2 - p1) / se


def _z_critical(alpha: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - alpha)


def compare(baseline: dict, groups: list[dict], *, simulated: bool, tolerances: dict | None = None) -> GateReport:
    """Every metric of every baseline group against the current groups."""
    tol = {**DEFAULT_TOLERANCES, **baseline.get("tolerances", {}), **(tolerances or {})}
    deterministic = simulated and baseline.get("simulated", False)
    skip_latency = baseline.get("simulated", False) and float(baseline.get("sim_time_scale", 1.0)) == 0.0
    current = {group_key(g): g for g in groups}
    report = GateReport(groups=groups)
    for base in baseline["groups"]:
        name = group_name(base)
        cur = current.pop(group_key(base), None)
        if cur is None:
            report.findings.append(Finding(name, "group", "present", "absent", "MISSING", "no such group in this run"))
            continue
        report.findings.append(_accuracy(name, base, cur, deterministic, tol["alpha"]))
        for metric, kind in RELATIVE:
            report.findings.append(_relative(name, metric, base.get(metric), cur.get(metric), tol[kind]))
        if skip_latency:
            report.findings.append(Finding(name, "latency_p50", base.get("latency_p50"), cur.get("latency_p50"),
                                           "skipped", "sim at time scale 0: harness overhead only"))
        else:
            report.findings.append(_relative(name, "latency_p50", base.get("latency_p50"), cur.get("latency_p50"),
                                             tol["latency"], slack=tol["latency_abs_s"]))
    for extra in current.values():
        report.findings.append(Finding(group_name(extra), "group", "absent", "present", "new", "not in the baseline"))
    return report


def _accuracy(name: str, base: dict, cur: dict, deterministic: bool, alpha: float) -> Finding:
    p1, p2 = float(base["accuracy"]), float(cur["accuracy"])
    if deterministic:
        same = math.isclose(p1, p2, abs_tol=1e-9) and base["n"] == cur["n"]
        return Finding(name, "accuracy", p1, p2, "ok" if same else "CHANGED",
                       "" if same else "simulated runs are deterministic: --update if intended")
    z = z_test(p1, int(base["n"]), p2, int(cur["n"]))
    bad = z < -_z_critical(alpha)
    return Finding(name, "accuracy", p1, p2, "REGRESSION" if bad else "ok", f"z={z:.2f} (n={base['n']}/{cur['n']})")


def _relative(name: str, metric: str, base: float | None, cur: float | None, tol: float, *,
              slack: float = 0.0) -> Finding:
    if base is None or cur is None:
        same = base is None and cur is None
        return Finding(name, metric, base, cur, "ok" if same else "CHANGED", "" if same else "cost became (un)known")
    limit = base * (1 + tol) + slack
    change = (cur - base) / base if base else (0.0 if cur == base else math.inf)
    return Finding(name, metric, float(base), float(cur), "REGRESSION" if cur > limit + 1e-12 else "ok",
                   f"{change:+.1%} (limit +{tol:.0%}{f' +{slack:g}s' if slack else ''})")


def make_baseline(groups: list[dict], *, overrides: list[str], simulated: bool, sim_time_scale: float,
                  tolerances: dict | None = None) -> dict:
    keep = (*KEY_FIELDS, "n", "accuracy", "accuracy_se", "prompt_tokens", "cached_tokens", "completion_tokens",
            "cost_mean", "latency_p50", "latency_p95")
    return {
        "version": 1, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "simulated": simulated, "sim_time_scale": sim_time_scale, "overrides": list(overrides),
        "tolerances": {**DEFAULT_TOLERANCES, **(tolerances or {})},
        "groups": [{k: g.get(k) for k in keep} for g in groups],
    }


@dataclass
class CurrentRun:
    groups: list[dict]
    simulated: bool
    sim_time_scale: float


def run_current(overrides: list[str], results_dir: str | None = None) -> CurrentRun:
    """Run the grid fresh (a temporary results dir unless one is given) and summarize it."""
    with tempfile.TemporaryDirectory(prefix="rlm-check-") as tmp:
        results = results_dir or tmp
        jobs = run_grid([*overrides, f"results_dir={results}"], sweep_id="check")
        return _current_from_jobs(jobs, results)


def read_current(paths: list[str]) -> CurrentRun:
    """Finished results: run dirs (results/runs/ID), record.jsonl files or sweep dirs (results/sweeps/ID)."""
    from evals.run_record import RECORD_NAME, load_results

    rows: list[dict] = []
    simulated, scale = False, 0.0
    for raw in paths:
        path = Path(raw)
        if (path / "jobs").is_dir():
            if len(paths) != 1:
                raise InputError(f"give one sweep dir, or only run dirs: {raw}")
            return _current_from_jobs(load_jobs(path.parent.parent, path.name), path.parent.parent)
        run_dir = path.parent if path.name == RECORD_NAME else path
        if not (run_dir / RECORD_NAME).exists():
            raise InputError(f"no {RECORD_NAME} under {raw}")
        rows += [r.to_dict() for r in load_results(run_dir)]
        config = (run_dir / "config.yaml").read_text(encoding="utf-8") if (run_dir / "config.yaml").exists() else ""
        simulated = simulated or "provider: sim" in config
        scale = max(scale, _time_scale(config))
    return CurrentRun([{**g, "variant": ""} for g in summarize(rows)], simulated, scale)


def _time_scale(config_yaml: str) -> float:
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(config_yaml) if config_yaml else {}
    return float(OmegaConf.select(cfg, "sim.time_scale", default=0.0)) if config_yaml else 0.0


def _current_from_jobs(jobs: list[dict], results_dir: str | Path) -> CurrentRun:
    rows = sweep_rows(jobs, results_dir)
    return CurrentRun(groups_by_variant(rows), any(j["simulated"] for j in jobs),
                      max((j["sim_time_scale"] for j in jobs), default=0.0))


class InputError(Exception):
    """A missing or unreadable baseline or results path (exit 2)."""


def merged_overrides(*groups: list[str]) -> list[str]:
    """Overrides in order with one entry per key, the last value winning: `--update` stays idempotent."""
    latest: dict[str, str] = {}
    for group in groups:
        for override in group:
            key = override.split("=", 1)[0].lstrip("+~")
            latest.pop(key, None)
            latest[key] = override
    return list(latest.values())


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see --help)\n")


def main(argv: list[str]) -> int:
    protect_process()
    argv = secrets_out_of_argv(list(argv))
    parser = _OneLineParser(prog="python -m evals.check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="baseline JSON (results/baselines/NAME.json)")
    parser.add_argument("--results", nargs="+", help="compare finished runs instead of running")
    parser.add_argument("--update", action="store_true", help="write the baseline from this run; exit 0")
    parser.add_argument("--all", action="store_true", help="show passing checks too")
    for name in DEFAULT_TOLERANCES:
        parser.add_argument(f"--{name.replace('_', '-')}", type=float, dest=name, help=f"tolerance (default "
                            f"{DEFAULT_TOLERANCES[name]})")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides; sweep syntax (a=1,2) gives a grid")
    args = parser.parse_args(argv)
    tolerances = {k: getattr(args, k) for k in DEFAULT_TOLERANCES if getattr(args, k) is not None}
    path = Path(args.baseline)
    try:
        baseline = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        if baseline is None and not args.update:
            raise InputError(f"baseline {path} does not exist: create it with --update")
        # The baseline's grid, then the given overrides: a later value of the same key wins.
        overrides = merged_overrides(baseline["overrides"] if baseline else [], args.overrides)
        current = read_current(args.results) if args.results else run_current(overrides)
    except (InputError, RLMError, HydraException, OmegaConfBaseException, json.JSONDecodeError, KeyError) as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    if args.update:
        data = make_baseline(current.groups, overrides=overrides, simulated=current.simulated,
                             sim_time_scale=current.sim_time_scale, tolerances=tolerances)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"baseline written: {path} ({len(data['groups'])} groups)")
        return 0
    report = compare(baseline, current.groups, simulated=current.simulated, tolerances=tolerances)
    print(report.table(all_rows=args.all))
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
