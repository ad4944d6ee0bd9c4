"""Any dataset with a context, a question and an answer column: a local file or a hub name.

Rows are mapped to samples by `fields` (context, query, answer columns) or a
`query_template` over the row. A size selects the rows whose context (or `length_field`,
when the dataset records lengths) falls in its bucket of the named size grid.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.scoring import METRICS
from evals.tasks.base import Draft, stable_hash
from evals.tasks.dataset_task import COMMON_DEFAULTS, DatasetTask, field_value, measure
from evals.tasks.loaders import is_local
from evals.tasks.sample import TaskError


def row_parts(row: dict, params: dict[str, Any], where: str) -> tuple[Any, str, list[str]]:
    """(context, query, answers) of a row by the `fields` map and `query_template`."""
    fields = params["fields"]
    context = field_value(row, fields["context"], where)
    is_str_list = isinstance(context, list) and all(isinstance(c, str) for c in context)
    if not (isinstance(context, str | dict) or is_str_list):
        raise TaskError(f"{where} field {fields['context']!r} must be a string, a list of strings "
                        f"or a dict, not {type(context).__name__}")
    if params.get("query_template"):
        try:
            query = params["query_template"].format(**row)
        except KeyError as exc:
            raise TaskError(f"{where} has no field {exc.args[0]!r} used by query_template") from None
    else:
        query = field_value(row, fields["query"], where)
    if not isinstance(query, str):
        raise TaskError(f"{where} field {fields['query']!r} must be a string, not {type(query).__name__}")
    answer = field_value(row, fields["answer"], where)
    answers = list(answer) if isinstance(answer, list | tuple) else [answer]
    if not answers or not all(isinstance(a, str | int | float) and not isinstance(a, bool) for a in answers):
        raise TaskError(f"{where} field {fields['answer']!r} must be a string, a number or a "
                        f"non-empty list of them")
    return context, query, [str(a) for a in answers]


class HFDatasetTask(DatasetTask):
    name = "hf_dataset"
    family = "qa_dataset"
    metric = "string_match_part"
    version = 2
    defaults = {**COMMON_DEFAULTS, "split": "train", "label": None, "query_template": None,
                "fields": {"context": "context", "query": "question", "answer": "answer"},
                "metric": "string_match_part", "family": "qa_dataset", "length_field": None}

    def validate(self, params: dict[str, Any]) -> None:
        super().validate(params)
        fields = params["fields"]
        if not isinstance(fields, dict) or set(fields) != {"context", "query", "answer"}:
            raise TaskError("task 'hf_dataset': fields must map exactly context, query and answer to column names")
        if params["metric"] not in METRICS:
            raise TaskError(f"task 'hf_dataset': metric={params['metric']!r} is not one of {', '.join(METRICS)}")

    def scoring(self, params: dict[str, Any]) -> tuple[str, str]:
        return params["family"], params["metric"]

    def variant(self, params: dict[str, Any]) -> str:
        return params["label"] or Path(str(params["path"])).stem.replace("_", "-") or stable_hash(params)[:8]

    def dataset_name(self, params: dict[str, Any]) -> str:
        return params["label"] or Path(str(params["path"])).stem

    def split(self, params: dict[str, Any], size_tokens: int) -> tuple[str | None, str | None]:
        if is_local(str(params["path"])) and params["split"] not in (None, "train"):
            raise TaskError(f"cannot read split {params['split']!r} of file {params['path']}: "
                            f"a local file has one split, 'train'")
        return super().split(params, size_tokens)

    def draft(self, row: dict, params: dict[str, Any], where: str, size_tokens: int) -> Draft:
        context, query, answers = row_parts(row, params, where)
        if params["length_field"]:
            length = field_value(row, params["length_field"], where)
            if isinstance(length, bool) or not isinstance(length, int | float | str) or not str(length).isdigit():
                raise TaskError(f"{where} field {params['length_field']!r} must be a token count, not {length!r}")
            tokens = int(length)
        else:
            tokens = measure(context, params)
        return Draft(context=context, query=query, expected=answers, actual_tokens=tokens)


TASK = HFDatasetTask()
