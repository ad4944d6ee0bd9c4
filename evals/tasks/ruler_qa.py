"""RULER's QA tasks as RULER's own prepare.py writes them (qa_1 SQuAD, qa_2 HotpotQA).

A row's `input` is RULER's whole prompt without the answer prefix (instructions, documents,
question), `outputs` the reference answers and `length` its tokens plus the 32 to generate.
The plain model gets `input` + `answer_prefix`; the RLM gets `input` as its context. A
size keeps rows whose `length` is in its bucket of the size grid.
"""
from __future__ import annotations

from typing import Any

from evals.tasks.base import Draft
from evals.tasks.dataset_task import COMMON_DEFAULTS, DatasetTask, field_value
from evals.tasks.sample import TaskError

OUTPUT_TOKENS = 32
QUERY = "Answer the question at the end of the context. Only give the answer and no other words."


class RulerQATask(DatasetTask):
    name = "ruler_qa"
    family = "qa_dataset"
    metric = "string_match_part"
    dataset_label = "ruler-qa"
    defaults = {**COMMON_DEFAULTS, "path": "data/ruler/qa_1/validation.jsonl", "split": "train", "label": None}

    def draft(self, row: dict, params: dict[str, Any], where: str, size_tokens: int) -> Draft:
        text, outputs = field_value(row, "input", where), field_value(row, "outputs", where)
        length = field_value(row, "length", where)
        if not isinstance(text, str) or not isinstance(outputs, list) or not outputs:
            raise TaskError(f"{where}: input must be a string and outputs a non-empty list of answers")
        if isinstance(length, bool) or not isinstance(length, int):
            raise TaskError(f"{where}: length must be RULER's token count, not {length!r}")
        prefix = row.get("answer_prefix", " Answer:")
        return Draft(context=text, query=QUERY, expected=[str(o) for o in outputs], actual_tokens=length,
                     prompt_before="", prompt_after=prefix, max_output_tokens=OUTPUT_TOKENS,
                     metadata={"ruler_index": row.get("index", "")})


TASK = RulerQATask()
