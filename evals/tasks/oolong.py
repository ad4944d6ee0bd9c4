"""OOLONG-synth as its authors run it (abertsch72/oolong, src/eval).

The model gets the row's `context_window_text` then its `question` (which carries the answer
format, e.g. "Give your final answer in the form 'Label: answer'"); the reply is scored by
OOLONG's own parsing and rules (evals.scoring.oolong) against the stringified `answer` list.
Rows are selected by source dataset (`dataset`, e.g. trec_coarse), question type
(`task_types`) and by the dataset's own length buckets: size 128K keeps rows whose
`context_len` is 131072.
"""
from __future__ import annotations

from typing import Any

from evals.tasks.base import Draft
from evals.tasks.dataset_task import COMMON_DEFAULTS, DatasetTask, field_value, measure
from evals.tasks.sample import TaskError
from evals.tasks.sizes import format_size


class OolongTask(DatasetTask):
    name = "oolong"
    family = "oolong"
    metric = "oolong"
    version = 1
    dataset_label = "oolong-synth"
    measured_buckets = False
    defaults = {**COMMON_DEFAULTS, "path": "oolongbench/oolong-synth", "split": "test", "label": None,
                "dataset": None, "task_types": None, "with_labels": False}

    def validate(self, params: dict[str, Any]) -> None:
        super().validate(params)
        types = params["task_types"]
        if types is not None and not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
            raise TaskError(f"task 'oolong': task_types={types!r} must be a list like [TASK_TYPE.MOST_FREQ]")

    def variant(self, params: dict[str, Any]) -> str:
        return params["dataset"] or "all"

    def dataset_name(self, params: dict[str, Any]) -> str:
        return params["label"] or "oolong-synth" + (f"/{params['dataset']}" if params["dataset"] else "")

    def row_filter(self, row: dict, params: dict[str, Any]) -> str | None:
        if params["dataset"] is not None and row.get("dataset") != params["dataset"]:
            return "other dataset"
        types = params["task_types"]
        if types is not None and row.get("task") not in types and f"TASK_TYPE.{row.get('task')}" not in types:
            return "other task type"
        return None

    def bucket(self, row: dict, draft: Draft | None, size_tokens: int, params: dict[str, Any]) -> str | None:
        length = int(field_value(row, "context_len", "oolong row"))
        return None if length == size_tokens else "shorter" if length < size_tokens else "longer"

    def bucket_name(self, size_tokens: int, params: dict[str, Any]) -> str:
        return f"context_len {size_tokens} ({format_size(size_tokens)})"

    def draft(self, row: dict, params: dict[str, Any], where: str, size_tokens: int) -> Draft:
        text_field = "context_window_text_with_labels" if params["with_labels"] else "context_window_text"
        context = field_value(row, text_field, where)
        question = field_value(row, "question", where)
        answer = field_value(row, "answer", where)
        if not all(isinstance(v, str) for v in (context, question, answer)):
            raise TaskError(f"{where}: {text_field}, question and answer must be strings")
        from evals.scoring.oolong import parse_gold

        try:
            parse_gold(answer)
        except (ValueError, SyntaxError):
            raise TaskError(f"{where}: answer {answer[:60]!r} is not a stringified list like \"[12]\"") from None
        return Draft(context=context, query=question, expected=[answer], actual_tokens=measure(context, params),
                     prompt_before="", prompt_after=f"\n\n{question}",
                     metric_args={"answer_type": row.get("answer_type")},
                     metadata={"oolong_dataset": row.get("dataset", ""), "task_type": row.get("task", ""),
                               "answer_type": row.get("answer_type", ""), "context_len": row.get("context_len")})


TASK = OolongTask()
