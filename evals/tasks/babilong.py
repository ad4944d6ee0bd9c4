"""BABILong as its authors run it (booydar/babilong, babilong/prompts.py and metrics.py).

The plain model gets the task's instruction, in-context examples and answer-format
post-prompt, then `<context>...</context>` and the question (DEFAULT_TEMPLATE); the reply
is scored by compare_answers (evals.scoring.babilong). The hub dataset's configs are its
length buckets (0k, 1k, ... 128k, ... 1M): size 4K loads config `4k`; the split is the bAbI
task (qa1 ... qa10). A local file is bucketed by measured length in the size grid.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from evals.scoring.babilong import TASK_LABELS
from evals.tasks.base import Draft, choice_param
from evals.tasks.dataset_task import COMMON_DEFAULTS, DatasetTask, field_value, measure
from evals.tasks.loaders import is_local
from evals.tasks.sample import TaskError
from evals.tasks.sizes import K, M, format_size

CONFIGS = {0: "0k", K: "1k", 2 * K: "2k", 4 * K: "4k", 8 * K: "8k", 16 * K: "16k", 32 * K: "32k", 64 * K: "64k",
           128 * K: "128k", 256 * K: "256k", 512 * K: "512k", M: "1M", 10 * M: "10M"}


@lru_cache(maxsize=1)
def prompts() -> dict[str, dict[str, str]]:
    """The benchmark's prompt text per bAbI task (instruction, examples, post_prompt)."""
    path = Path(__file__).parent / "data" / "babilong_prompts.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


class BabilongTask(DatasetTask):
    name = "babilong"
    family = "babilong"
    metric = "babilong"
    dataset_label = "babilong"
    defaults = {**COMMON_DEFAULTS, "path": "RMT-team/babilong", "split": "qa1", "label": None}

    def validate(self, params: dict[str, Any]) -> None:
        super().validate(params)
        choice_param(self.name, params, "split", tuple(prompts()))

    def variant(self, params: dict[str, Any]) -> str:
        return str(params["split"])

    def dataset_name(self, params: dict[str, Any]) -> str:
        return params["label"] or f"babilong/{params['split']}"

    @property
    def measured_buckets(self) -> bool:  # type: ignore[override]
        return self._local

    def split(self, params: dict[str, Any], size_tokens: int) -> tuple[str | None, str | None]:
        self._local = is_local(str(params["path"]))
        if self._local:
            return None, None
        if params["name"] is not None:
            return params["name"], params["split"]
        if size_tokens not in CONFIGS:
            raise TaskError(f"task 'babilong': size {format_size(size_tokens)} is not one of BABILong's lengths "
                            f"({', '.join(format_size(s) if s else '0' for s in CONFIGS)}); or set task.params.name")
        return CONFIGS[size_tokens], params["split"]

    def bucket(self, row: dict, draft: Draft | None, size_tokens: int, params: dict[str, Any]) -> str | None:
        if draft is None:
            return None  # a hub config is one length bucket
        return super().bucket(row, draft, size_tokens, params)

    def bucket_name(self, size_tokens: int, params: dict[str, Any]) -> str:
        if is_local(str(params["path"])):
            return super().bucket_name(size_tokens, params)
        return f"config {params['name'] or CONFIGS.get(size_tokens, '?')}"

    def draft(self, row: dict, params: dict[str, Any], where: str, size_tokens: int) -> Draft:
        context, question, target = (field_value(row, k, where) for k in ("input", "question", "target"))
        if not all(isinstance(v, str) for v in (context, question, target)):
            raise TaskError(f"{where}: input, question and target must be strings")
        task = str(params["split"])
        p = prompts()[task]
        before = f"{p['instruction']}\n\n{p['examples']}\n\n{p['post_prompt']}\n\n<context>\n".lstrip()
        after = f"\n</context>\n\nQuestion: {question}".rstrip()
        context = context.strip()
        return Draft(context=context, query=f"{question.strip()}\n{p['post_prompt']}", expected=[target],
                     actual_tokens=measure(context, params), prompt_before=before, prompt_after=after,
                     metric_args={"question": question, "task": task})

    _local = False


assert set(TASK_LABELS) >= set(prompts())  # every task with prompts has a label set
TASK = BabilongTask()
