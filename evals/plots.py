"""PNG plots of a sweep: accuracy and cost against context size, and the NIAH depth x size heatmap.

Drawn from the same summary groups as the tables (evals.summary), so a plotted point and a
table cell never disagree. Headless (Agg); every title says "sim" when the models were simulated.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from evals.tasks.sizes import format_size  # noqa: E402

SIM_TAG = " (sim)"


def _series_label(group: dict) -> str:
    model = group["model"] + (f" → {group['sub_model']}" if group.get("sub_model") else "")
    depth = "" if group.get("depth") is None else f", depth {group['depth']}"
    variant = f" [{group['variant']}]" if group.get("variant") else ""
    return f"{group['method']}: {model}{depth}{variant}"


def _size_axis(ax: plt.Axes, sizes: list[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes)
    ax.set_xticklabels([format_size(s) for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("context size (cl100k tokens)")


def plot_vs_size(groups: list[dict], metric: str, path: Path, *, title: str) -> Path:
    """One line per method/model/depth: `accuracy` (with ± stderr bars) or `cost_mean` (USD, log scale)."""
    fig, axes_by_task = _task_axes(groups)
    for task, ax in axes_by_task.items():
        series: dict[str, list[dict]] = defaultdict(list)
        for g in groups:
            # A zero cost (nothing called: context exceeded) has no place on a log axis.
            if g["task"] == task and g.get(metric) is not None and (metric == "accuracy" or g[metric] > 0):
                series[_series_label(g)].append(g)
        for k, (label, points) in enumerate(series.items()):
            points.sort(key=lambda g: g["size_tokens"])
            # Dodge each series a little along the (log) size axis so equal values stay visible.
            xs = [g["size_tokens"] * 2 ** (0.04 * (k - (len(series) - 1) / 2)) for g in points]
            ys = [g[metric] for g in points]
            style = "--" if points[0]["method"] == "baseline" else "-"
            if metric == "accuracy":
                ax.errorbar(xs, ys, yerr=[g["accuracy_se"] for g in points], fmt="o" + style, capsize=3, label=label)
            else:
                ax.plot(xs, ys, "o" + style, label=label)
        _size_axis(ax, sorted({g["size_tokens"] for g in groups if g["task"] == task}))
        if metric == "accuracy":
            ax.set_ylim(-0.05, 1.05)
            ax.set_ylabel("accuracy (mean score, ± stderr)")
        else:
            ax.set_yscale("log")
            dollars = FuncFormatter(lambda v, _: f"${v:.3g}")
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(dollars)
            ax.yaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks crowd each decade
            ax.set_ylabel("mean cost per sample (USD, log scale)")
        ax.set_title(task)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(title)
    return _save(fig, path)


def _task_axes(groups: list[dict]) -> tuple[plt.Figure, dict[str, plt.Axes]]:
    tasks = sorted({g["task"] for g in groups})
    fig, axes = plt.subplots(1, len(tasks), figsize=(6.5 * len(tasks), 4.8), squeeze=False)
    return fig, dict(zip(tasks, axes[0]))


def _depth_of(row: dict) -> float | None:
    meta = row.get("metadata") or {}
    value = meta.get("target_depth_percent", meta.get("depth_percent"))
    return float(value) if isinstance(value, (int, float)) else None


def _depth_bins(depths: list[float]) -> tuple[list[float], Callable[[float], float], str]:
    """Depths set by the task (task.params.depth_percent=[0,25,50]): one row each; random ones: 10% bins."""
    distinct = sorted(set(depths))
    if len(distinct) <= 11 and all(d == round(d) for d in distinct):
        return distinct, lambda d: d, "{:g}%"
    bins = sorted({float(min(90, int(d // 10) * 10)) for d in depths})
    return bins, lambda d: float(min(90, int(d // 10) * 10)), "{:g}-{:g}%"


def plot_niah_heatmap(rows: list[dict], path: Path, *, title: str) -> Path | None:
    """Accuracy by needle depth (% of the context) x size, one panel per method/model/depth."""
    rows = [r for r in rows if r.get("family") == "niah" and _depth_of(r) is not None]
    if not rows:
        return None
    bins, bin_of, tick = _depth_bins([_depth_of(r) for r in rows])
    sizes = sorted({r["size_tokens"] for r in rows})
    panels: dict[str, dict[tuple, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        panels[_series_label(r)][(bin_of(_depth_of(r)), r["size_tokens"])].append(float(r["score"]))
    fig, axes = plt.subplots(1, len(panels), figsize=(max(4.5, 1.1 * len(sizes) + 2.5) * len(panels), 4.8),
                             squeeze=False, sharey=True)
    image = None
    for k, (ax, (label, cells)) in enumerate(zip(axes[0], sorted(panels.items()))):
        ax.set_facecolor("#d9d9d9")  # grey: no sample at that depth and size
        grid = [[_mean_or_nan(cells.get((b, s))) for s in sizes] for b in bins]
        image = ax.imshow(grid, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto", origin="lower")
        for i, b in enumerate(bins):
            for j, s in enumerate(sizes):
                scores = cells.get((b, s))
                if scores:
                    ax.text(j, i, f"{sum(scores) / len(scores):.2f}\nn={len(scores)}", ha="center", va="center",
                            fontsize=7)
        ax.set_xticks(range(len(sizes)), [format_size(s) for s in sizes])
        ax.set_yticks(range(len(bins)), [tick.format(b, b + 10) for b in bins])
        ax.set_xlabel("context size (cl100k tokens)")
        if k == 0:
            ax.set_ylabel("needle depth (% of context)")
        ax.set_title(label, fontsize=9)
    fig.colorbar(image, ax=axes[0].tolist(), label="accuracy (mean score)")
    fig.suptitle(title)
    return _save(fig, path, tight=False)


def _mean_or_nan(scores: list[float] | None) -> float:
    return sum(scores) / len(scores) if scores else float("nan")


def _save(fig: plt.Figure, path: Path, *, tight: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def write_all(rows: list[dict], groups: list[dict], out_dir: Path, *, sweep_id: str, simulated: bool) -> str:
    """Every plot of a sweep; returns markdown lines linking them."""
    tag = SIM_TAG if simulated else ""
    written = [
        plot_vs_size(groups, "accuracy", out_dir / "accuracy_vs_size.png",
                     title=f"Accuracy vs context size{tag} · sweep {sweep_id}"),
        plot_vs_size(groups, "cost_mean", out_dir / "cost_vs_size.png",
                     title=f"Cost per sample vs context size{tag} · sweep {sweep_id}"),
        plot_niah_heatmap(rows, out_dir / "niah_heatmap.png",
                          title=f"NIAH accuracy by needle depth and size{tag} · sweep {sweep_id}"),
    ]
    return "".join(f"![{p.stem}]({p.name})\n" for p in written if p is not None)
