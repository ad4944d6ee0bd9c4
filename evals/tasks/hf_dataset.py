"""Real datasets through `datasets`: local .jsonl/.json/.parquet files offline, hub names online.

Rows are mapped to samples by `fields` (context, query, answer columns) or a
`query_template` over the row. `size_tokens` is a cap: rows whose context is longer are
skipped, so one dataset can be run at several sizes like RULER's length buckets.
"""
from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlm.tokens import count_tokens

from evals.scoring import METRICS
from evals.tasks.base import Draft, TaskGenerator, int_param, plain, stable_hash
from evals.tasks.sample import TaskError

_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}


def _context_tokens(context: str | list | dict) -> int:
    if isinstance(context, str):
        return count_tokens(context)
    items = context.values() if isinstance(context, dict) else context
    return sum(count_tokens(str(item)) for item in items)


def _source(params: dict[str, Any]) -> str:
    """How messages name the input: "file x.jsonl" or "dataset org/name"."""
    path = str(params["path"])
    return f"file {path}" if Path(path).suffix.lower() in _BUILDERS else f"dataset {path}"


def _load_rows(params: dict[str, Any]):
    """The dataset split as an indexable of dict rows; every failure is one TaskError."""
    import datasets  # heavy; only this task needs it

    path, split = str(params["path"]), params["split"]
    suffix = Path(path).suffix.lower()
    source = _source(params)
    try:
        if suffix in _BUILDERS:
            if not Path(path).is_file():
                raise TaskError(f"hf_dataset: file {path} does not exist")
            if Path(path).stat().st_size == 0:
                raise TaskError(f"hf_dataset: file {path} is empty")
            return datasets.load_dataset(_BUILDERS[suffix], data_files={"train": path}, split=split)
        return datasets.load_dataset(path, params["name"], split=split)
    except TaskError:
        raise
    except (ValueError, KeyError) as exc:
        message = " ".join(str(exc).split())[:300]
        raise TaskError(f"hf_dataset: cannot read split {split!r} of {source}: {message}") from None
    except Exception as exc:  # network, format and builder errors differ by datasets version
        message = " ".join(str(exc).split())[:300]
        raise TaskError(f"hf_dataset: cannot load {source}: {type(exc).__name__}: {message}") from None


def _field(row: dict, name: str, where: str) -> Any:
    if name not in row:
        raise TaskError(f"hf_dataset: {where} has no field {name!r} (fields: {', '.join(sorted(row))})")
    return row[name]


def _row_to_parts(row: dict, params: dict[str, Any], where: str) -> tuple[Any, str, list[str]]:
    fields = params["fields"]
    context = _field(row, fields["context"], where)
    is_str_list = isinstance(context, list) and all(isinstance(c, str) for c in context)
    if not (isinstance(context, str | dict) or is_str_list):
        raise TaskError(f"hf_dataset: {where} field {fields['context']!r} must be a string, a list of strings "
                        f"or a dict, not {type(context).__name__}")
    if params["query_template"]:
        try:
            query = params["query_template"].format(**row)
        except KeyError as exc:
            raise TaskError(f"hf_dataset: {where} has no field {exc.args[0]!r} used by query_template") from None
    else:
        query = _field(row, fields["query"], where)
    if not isinstance(query, str):
        raise TaskError(f"hf_dataset: {where} field {fields['query']!r} must be a string, not {type(query).__name__}")
    answer = _field(row, fields["answer"], where)
    answers = answer if isinstance(answer, list) else [answer]
    if not answers or not all(isinstance(a, str | int | float) and not isinstance(a, bool) for a in answers):
        raise TaskError(f"hf_dataset: {where} field {fields['answer']!r} must be a string, a number or a "
                        f"non-empty list of them")
    return context, query, [str(a) for a in answers]


class HFDatasetTask(TaskGenerator):
    name = "hf_dataset"
    family = "qa_dataset"
    metric = "string_match_part"
    defaults = {"path": None, "name": None, "split": "train", "label": None, "query_template": None,
                "fields": {"context": "context", "query": "question", "answer": "answer"},
                "metric": "string_match_part", "family": "qa_dataset", "shuffle": False, "max_rows": None}

    def validate(self, params: dict[str, Any]) -> None:
        if not params["path"] or not isinstance(params["path"], str | Path):
            raise TaskError("task 'hf_dataset': param path is required (a hub name or a .jsonl/.json/.parquet file)")
        fields = params["fields"]
        if not isinstance(fields, dict) or set(fields) != {"context", "query", "answer"}:
            raise TaskError("task 'hf_dataset': fields must map exactly context, query and answer to column names")
        if params["metric"] not in METRICS:
            raise TaskError(f"task 'hf_dataset': metric={params['metric']!r} is not one of {', '.join(METRICS)}")
        if params["max_rows"] is not None:
            int_param(self.name, params, "max_rows")

    def resolve(self, params: Mapping | None) -> dict[str, Any]:
        params = plain(params or {})
        if isinstance(params.get("fields"), dict):  # partial field maps keep the other defaults
            params["fields"] = {**self.defaults["fields"], **params["fields"]}
        return super().resolve(params)

    def scoring(self, params: dict[str, Any]) -> tuple[str, str]:
        return params["family"], params["metric"]

    def variant(self, params: dict[str, Any]) -> str:
        return params["label"] or Path(str(params["path"])).stem.replace("_", "-") or stable_hash(params)[:8]

    def min_size(self, params: dict[str, Any]) -> int:
        return 1

    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any],
                 index: int = 0) -> Draft:
        raise TaskError("hf_dataset samples are read with generate_all")

    def generate_all(self, size_tokens: int, num_samples: int, seed: int, params: dict[str, Any]) -> list[Draft]:
        rows = _load_rows(params)
        where_base = _source(params)
        if len(rows) == 0:
            raise TaskError(f"hf_dataset: {where_base} split {params['split']!r} has no rows")
        order = list(range(len(rows)))
        if params["shuffle"]:
            random.Random(seed).shuffle(order)
        if params["max_rows"] is not None:
            order = order[:params["max_rows"]]
        drafts: list[Draft] = []
        for i in order:
            if len(drafts) == num_samples:
                break
            context, query, answers = _row_to_parts(rows[i], params, f"{where_base} row {i}")
            tokens = _context_tokens(context)
            if tokens <= size_tokens:
                drafts.append(Draft(context=context, query=query, expected=answers, actual_tokens=tokens,
                                    metadata={"row": i, "source": str(params["path"])}))
        return drafts


TASK = HFDatasetTask()
