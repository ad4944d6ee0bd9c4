"""A sweep's comparison: its jobs' results (from each run's record) in one table, plots and groups.json.

Pure reading and rendering: no Hydra here, so the CI gate and `python -m evals.sweep` share it.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from evals.run_record import load_results
from evals.html_report import write_sweep_html_report
from evals.summary import render, summarize, wrap_title
from evals.tasks.sizes import format_size

# Overrides that are axes of the table already, or do not change results: not a "variant".
AXES = {"task", "size", "model", "model@sub_model", "sub_model", "method", "depth", "seed", "samples", "db",
        "results_dir", "cache_dir", "concurrency", "console", "label", "sweep_id", "report_format",
        "response_cache", "retry_errors", "task.params.depth_percent", "db.dsn", "trajectory.store"}


def sweep_dir(results_dir: str | Path, sweep_id: str) -> Path:
    return Path(results_dir) / "sweeps" / sweep_id


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
    return {k for k, v in values.items() if len(v) > 1 and k not in AXES and not k.startswith("hydra.")}


def rows_for_run(results_dir: str | Path, run_id: str, dsn: str | None = None) -> list[dict]:
    """A run's sample rows: its record when it is on this machine, else the database's rows."""
    run_dir = Path(results_dir) / "runs" / run_id
    if (run_dir / "record.jsonl").exists():
        return [r.to_dict() for r in load_results(run_dir)]
    if dsn is None:
        return []
    from evals.run_source import sample_rows_from_db

    return sample_rows_from_db(dsn, run_id)


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
            rows.append({**row, "variant": variant, "run_id": job["run_id"]})
    return rows


def _dsn_if_any(jobs: list[dict]) -> str | None:
    """The sweep's database, if it used one and it is up (never started just to read)."""
    used = [job for job in jobs if job.get("db") != "off"]
    if not used:
        return None
    try:
        from rlm.telemetry import resolve_dsn

        from evals.plan import real_dsn

        return resolve_dsn(real_dsn(used[0].get("db_dsn")), start=False,
                           backend="native" if used[0].get("db") == "native" else "embedded")
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
    path = out_dir / "comparison.md"
    path.write_text(text, encoding="utf-8")
    write_sweep_html_report(out_dir, rows, results_dir=results_dir, dsn=_dsn_if_any(jobs), simulated=simulated)
    return path


def screen_summary(path: Path) -> str:
    """What a sweep prints: its title and job count, then the terminal table (fits 120 columns);
    comparison.md beside `path` keeps the method x model table and every column."""
    title, jobs_line = path.read_text(encoding="utf-8").split("\n\n")[:2]
    groups = json.loads((path.parent / "groups.json").read_text(encoding="utf-8"))
    jobs = jobs_line.split(",")[0]  # "N jobs (K failed)"; the rest describes comparison.md's cells
    return f"{wrap_title(title)}\n\n{jobs}\n\n{render(groups, 'terminal')}"
