"""Task registry and sample building: name -> generator, seeded per sample, cached on disk."""
from __future__ import annotations

import importlib
import random
from functools import lru_cache
from pathlib import Path

from evals.tasks import cache
from evals.tasks.base import Draft, TaskGenerator, stable_hash
from evals.tasks.sample import Sample, TaskError
from evals.tasks.sizes import format_size, parse_size


# One module per task; each defines a module-level TASK.
_MODULES = ("niah", "ruler_niah", "vt", "cwe", "fwe", "qa_retrieval", "qa_multihop", "qa_aggregation",
            "qa_pairs", "hf_dataset", "oolong", "longbench_v2", "babilong", "ruler_qa")


@lru_cache(maxsize=1)
def _registry() -> dict[str, TaskGenerator]:
    modules = (importlib.import_module(f"evals.tasks.{name}") for name in _MODULES)
    return {module.TASK.name: module.TASK for module in modules}


def task_names() -> list[str]:
    return sorted(_registry())


def get_task(task: str) -> TaskGenerator:
    try:
        return _registry()[task]
    except KeyError:
        raise TaskError(f"unknown task {task!r}; known tasks: {', '.join(task_names())}") from None


def min_size(task: str, params: dict | None = None) -> int:
    """The smallest size (tokens) `task` can be fitted to with `params`."""
    generator = get_task(task)
    return generator.min_size(generator.resolve(params))


def build_samples(task: str, size_tokens: int | str, num_samples: int, seed: int, params: dict | None = None,
                  cache_dir: Path | None = None) -> list[Sample]:
    """`num_samples` samples of `task` fitted under `size_tokens` tokens.

    Sample i depends only on (task, resolved params, size, seed, i): a larger
    `num_samples` extends the list without changing earlier samples, and regeneration is
    byte-identical. Samples are cached under `cache_dir` (default ./.rlm-evals/cache/tasks).
    """
    generator = get_task(task)
    resolved = generator.resolve(params)
    size = parse_size(size_tokens)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 0:
        raise TaskError(f"num_samples={num_samples!r} must be an integer >= 0")
    smallest = generator.min_size(resolved)
    if size < smallest:
        raise TaskError(f"task {task!r}: size {format_size(size)} ({size} tokens) is below its minimum of "
                        f"{smallest} tokens with these params")
    drafts = generator.generate_all(size, num_samples, seed, resolved)
    if drafts is not None:
        return [_stamp(generator, resolved, size, seed, i, d) for i, d in enumerate(drafts)]
    root = Path(cache_dir) if cache_dir is not None else cache.DEFAULT_CACHE_DIR
    return [_one(generator, resolved, size, seed, i, root) for i in range(num_samples)]


def _one(generator: TaskGenerator, params: dict, size: int, seed: int, index: int, root: Path) -> Sample:
    key = stable_hash(generator.name, params, size, seed, index, generator.version)
    path = cache.cache_path(root, generator.name, key)
    sample = cache.load(path)
    if sample is not None:
        return sample
    rng = random.Random(int(key, 16))
    sample = _stamp(generator, params, size, seed, index, generator.generate(rng, size, params, index))
    cache.store(path, sample)
    return sample


def _stamp(generator: TaskGenerator, params: dict, size: int, seed: int, index: int, draft: Draft) -> Sample:
    variant = generator.variant(params)
    family, metric = generator.scoring(params)
    metadata = {"variant": variant, "actual_tokens": draft.actual_tokens, "params": params,
                "generator_version": generator.version, **draft.metadata}
    return Sample(sample_id=f"{generator.name}-{variant}-{format_size(size)}-{seed}-{index}",
                  task=generator.name, family=family, context=draft.context, query=draft.query,
                  expected=list(draft.expected), metric=metric, size_tokens=size, metadata=metadata,
                  prompt_before=draft.prompt_before, prompt_after=draft.prompt_after,
                  max_output_tokens=draft.max_output_tokens, prompt_budget=draft.prompt_budget,
                  metric_args=dict(draft.metric_args), dataset=generator.dataset_name(params))
