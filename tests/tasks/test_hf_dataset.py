"""hf_dataset on local files, offline: mapping, size cap, and one clear error per bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.tasks import TaskError, build_samples

TINY = Path(__file__).parents[1] / "fixtures" / "datasets" / "tiny_qa.jsonl"


def test_local_jsonl_rows_become_samples():
    samples = build_samples("hf_dataset", "1K", 10, seed=0, params={"path": str(TINY)})
    assert len(samples) == 3  # the fourth row (1,501 tokens) is in the 4K bucket
    first = samples[0]
    assert first.query == "What is the capital of Freedonia?" and first.expected == ["Blorb"]
    assert first.metric == "string_match_part" and first.family == "qa_dataset"
    assert first.sample_id == "hf_dataset-tiny-qa-1K-0-0" and first.metadata["row"] == 0


def test_size_is_a_bucket_and_template_and_metric():
    params = {"path": str(TINY), "query_template": "Q: {question}", "metric": "exact", "label": "tiny"}
    samples = build_samples("hf_dataset", "1K", 10, seed=0, params=params)
    assert [s.metadata["row"] for s in samples] == [0, 1, 2]  # row 3 is over 1K tokens
    (long_row,) = build_samples("hf_dataset", "4K", 10, seed=0, params=params)
    assert long_row.metadata["row"] == 3  # rows of 1K and less are not in the (1K, 4K] bucket
    assert long_row.metadata["rows_dropped"] == 3 and long_row.metadata["rows_kept"] == 1
    assert samples[0].query == "Q: What is the capital of Freedonia?" and samples[0].metric == "exact"


def test_shuffle_is_seeded():
    params = {"path": str(TINY), "shuffle": True}
    rows = [s.metadata["row"] for s in build_samples("hf_dataset", "1K", 3, seed=1, params=params)]
    assert rows == [s.metadata["row"] for s in build_samples("hf_dataset", "1K", 3, seed=1, params=params)]
    assert sorted(rows) == [0, 1, 2] and rows != [0, 1, 2]


def test_parquet(tmp_path):
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "qa.parquet"
    datasets.Dataset.from_list([{"ctx": ["doc a", "doc b"], "q": "q?", "a": ["x", "y"]}]).to_parquet(str(path))
    params = {"path": str(path), "fields": {"context": "ctx", "query": "q", "answer": "a"}}
    (sample,) = build_samples("hf_dataset", "1K", 5, seed=0, params=params)
    assert sample.context == ["doc a", "doc b"] and sample.expected == ["x", "y"]


def _write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("make,message", [
    (lambda d: {"path": str(d / "missing.jsonl")}, "missing.jsonl does not exist"),
    (lambda d: {"path": _write(d / "empty.jsonl", [])}, "empty.jsonl is empty"),
    (lambda d: {"path": str(TINY), "split": "test"}, "cannot read split 'test'"),
    (lambda d: {"path": str(TINY), "fields": {"context": "ctx"}}, "tiny_qa.jsonl row 0 has no field 'ctx'"),
    (lambda d: {"path": _write(d / "t.jsonl", [{"context": 5, "question": "q", "answer": "a"}])},
     "t.jsonl row 0 field 'context' must be a string"),
    (lambda d: {"path": _write(d / "q.jsonl", [{"context": "c", "question": ["q"], "answer": "a"}])},
     "q.jsonl row 0 field 'question' must be a string"),
    (lambda d: {"path": str(TINY), "query_template": "{nope}"}, "no field 'nope' used by query_template"),
    (lambda d: {"path": str(TINY), "metric": "bleu"}, "metric='bleu'"),
    (lambda d: {}, "param path is required"),
])
def test_bad_input_one_clear_error(tmp_path, make, message):
    with pytest.raises(TaskError) as info:
        build_samples("hf_dataset", "1K", 2, seed=0, params=make(tmp_path))
    assert message in str(info.value) and "\n" not in str(info.value)
