"""Task generators: seeded samples fitted to a size in cl100k tokens, cached on disk."""
from evals.tasks.registry import build_samples, get_task, min_size, task_names
from evals.tasks.sample import Sample, TaskError
from evals.tasks.sizes import SIZES, format_size, parse_size

__all__ = ["Sample", "TaskError", "build_samples", "min_size", "task_names", "get_task",
           "parse_size", "format_size", "SIZES"]
