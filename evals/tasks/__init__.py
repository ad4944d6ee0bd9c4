"""Task generators and dataset presets: seeded samples fitted to a size, cached on disk."""
from evals.tasks.registry import build_samples, get_task, min_size, task_names
from evals.tasks.sample import Sample, TaskError
from evals.tasks.selection import SelectionStats, selection_stats
from evals.tasks.sizes import SIZES, format_size, parse_size

__all__ = ["Sample", "TaskError", "SelectionStats", "build_samples", "min_size", "selection_stats", "task_names",
           "get_task", "parse_size", "format_size", "SIZES"]
