"""Dataset presets on rows in their published formats: prompts, official scoring, length
buckets with kept/cut/dropped counts, and loaders that name the broken line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.scoring import score_sample
from evals.tasks import TaskError, build_samples, get_task
from evals.tasks.selection import selection_stats
from rlm.tokens import count_tokens

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "benchmarks"
OOLONG, LONGBENCH = str(FIX / "oolong_synth_validation.parquet"), str(FIX / "longbench_v2.jsonl")
BABILONG, RULER_QA = str(FIX / "babilong_qa1.parquet"), str(FIX / "ruler_qa_1_validation.jsonl")


def _samples(task, size, path, **params):
    return build_samples(task, size, 10, seed=0, params={"path": path, **params})


def test_oolong_answers_in_its_format_score_one_and_hedges_as_official():
    most, least, count = _samples("oolong", "1K", OOLONG)
    assert most.task == "oolong" and most.dataset == "oolong-synth"
    assert most.baseline_prompt().endswith("\n\n" + most.query) and most.expected == ["['spam']"]
    assert score_sample(most, "Label: spam") == 1.0
    assert score_sample(least, "**Label: [ham]**") == 1.0
    assert score_sample(count, "Answer: 4") == 1.0
    assert score_sample(count, "Answer: 6") == pytest.approx(0.75 ** 2)
    assert score_sample(most, "Label: spam or ham") == 0.0  # a hedge is not the label
    assert score_sample(count, "Answer: four") == 0.0       # not an integer


def test_oolong_selects_by_dataset_and_its_own_length_buckets():
    with pytest.raises(TaskError, match="context_len 2048"):
        _samples("oolong", "2K", OOLONG)
    with pytest.raises(TaskError, match="other dataset"):
        _samples("oolong", "1K", OOLONG, dataset="trec_coarse")
    (sample,) = _samples("oolong", "1K", OOLONG, task_types=["TASK_TYPE.NUMERIC_ONE_CLASS"])
    assert sample.metadata["rows_kept"] == 1 and sample.metadata["rows_dropped"] == 2
    assert get_task("oolong").resolve({})["split"] == "test"


def test_longbench_v2_format_regex_and_breakdown():
    samples = _samples("longbench_v2", "128K", LONGBENCH)
    assert [s.expected for s in samples] == [["B"], ["C"], ["A"]]
    first = samples[0]
    assert first.baseline_prompt().startswith("Please read the following text and answer the question below.")
    assert first.baseline_prompt().endswith('Format your response as follows: "The correct answer is (insert '
                                            'answer here)".')
    assert score_sample(first, "The correct answer is (B)") == 1.0
    assert score_sample(first, "**The correct answer is B**") == 1.0
    assert score_sample(first, "B") == 0.0                              # no official format, no match
    assert score_sample(first, "The correct answer is (A) or (B)") == 0.0  # the first match counts
    assert (first.metadata["length"], first.metadata["difficulty"]) == ("short", "easy")
    assert get_task("longbench_v2").breakdown_keys == ("length", "difficulty")
    assert first.max_output_tokens == 128 and get_task("longbench_v2").resolve({})["split"] == "train"


def test_longbench_v2_cuts_the_middle_and_counts_cut_rows():
    samples = _samples("longbench_v2", "16K", LONGBENCH)
    assert len(samples) == 3  # every row kept
    cut = [s for s in samples if s.metadata["cut_tokens"] > 0]
    assert len(cut) == 1 and samples[0].metadata["rows_cut"] == 1
    prompt = cut[0].baseline_prompt()
    assert count_tokens(prompt) <= 16 * 1024 - 128 + 2
    assert prompt.startswith("Please read the following text") and prompt.endswith('(insert answer here)".')
    assert cut[0].context not in prompt  # the middle is gone from the plain model's prompt only
    stats = selection_stats(samples)
    assert stats is not None and stats.rows_cut == 1 and stats.rows_kept == 3


def test_babilong_prompt_and_compare_answers():
    samples = _samples("babilong", "1K", BABILONG)
    sample = samples[0]
    prompt = sample.baseline_prompt()
    assert prompt.startswith("I will give you context with the facts about positions of different persons")
    assert "<example>" in prompt and "Always return your answer in the following format:" in prompt
    assert prompt.endswith("</context>\n\nQuestion: Where is Mary?")
    assert score_sample(sample, "The most recent location of Mary is bathroom.") == 1.0
    assert score_sample(sample, "Mary is in the bathroom or the hallway.") == 0.0
    assert score_sample(sample, "bathroom, bedroom, garden, hallway, kitchen, office") == 0.0
    assert score_sample(sample, "Bathroom. Earlier she was in the hallway.") == 1.0  # first sentence only
    assert sample.dataset == "babilong/qa1"
    assert get_task("babilong").split(get_task("babilong").resolve({}), 4096) == ("4k", "qa1")


def test_ruler_qa_rows_keep_rulers_prompt_and_cap():
    samples = _samples("ruler_qa", "4K", RULER_QA)
    assert len(samples) == 4 and samples[0].max_output_tokens == 32
    assert samples[0].baseline_prompt().endswith("Question: In what country is Normandy located? Answer:")
    assert score_sample(samples[0], " France.") == 1.0
    # RULER's QA metric is string_match_part: a list naming the answer among others still scores 1.
    assert score_sample(samples[0], "Germany, Spain, France or Italy") == 1.0
    assert score_sample(samples[0], "Normandy") == 0.0


def _row(tokens: int, i: int) -> dict:
    return {"context": "hello" + " hello" * (tokens - 1), "question": f"q{i}?", "answer": str(i)}


@pytest.fixture(scope="module")
def hundred_rows(tmp_path_factory):
    """100 rows whose contexts are 1K..200K tokens, spread evenly on a log scale."""
    lengths = [round(1000 * 200 ** (i / 99)) for i in range(100)]
    path = tmp_path_factory.mktemp("rows") / "spread.jsonl"
    path.write_text("".join(json.dumps(_row(n, i)) + "\n" for i, n in enumerate(lengths)), encoding="utf-8")
    return str(path), lengths


@pytest.mark.parametrize("size,lower", [("1K", 0), ("4K", 1024), ("8K", 4096), ("32K", 16384), ("128K", 65536),
                                        ("256K", 131072)])
def test_each_size_bucket_gets_its_rows_and_counts(hundred_rows, size, lower, caplog):
    path, lengths = hundred_rows
    upper = {"1K": 1024, "4K": 4096, "8K": 8192, "32K": 32768, "128K": 131072, "256K": 262144}[size]
    wanted = [i for i, n in enumerate(lengths) if lower < n <= upper]
    with caplog.at_level("INFO", logger="evals.tasks.selection"):
        samples = build_samples("hf_dataset", size, 100, seed=0, params={"path": path})
    assert [int(s.expected[0]) for s in samples] == wanted
    meta = samples[0].metadata
    assert (meta["rows_total"], meta["rows_kept"], meta["rows_dropped"]) == (100, len(wanted), 100 - len(wanted))
    assert f"kept {len(wanted)} (cut 0), dropped {100 - len(wanted)}" in caplog.text


def test_an_empty_bucket_is_an_error_not_a_silent_skip(hundred_rows):
    with pytest.raises(TaskError, match=r"no row of file .* is in the size's bucket \(256K, 512K\]"):
        build_samples("hf_dataset", "512K", 5, seed=0, params={"path": hundred_rows[0]})


def test_csv_and_json_load_and_broken_files_name_the_line(tmp_path):
    (tmp_path / "rows.csv").write_text('context,question,answer\n"some text, with a comma",q?,a\n', encoding="utf-8")
    (sample,) = build_samples("hf_dataset", "1K", 5, seed=0, params={"path": str(tmp_path / "rows.csv")})
    assert sample.context == "some text, with a comma" and sample.expected == ["a"]
    (tmp_path / "rows.json").write_text(json.dumps({"data": [_row(10, 0)]}), encoding="utf-8")
    assert len(build_samples("hf_dataset", "1K", 5, seed=0, params={"path": str(tmp_path / "rows.json")})) == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(_row(5, 0)) + "\n" + '{"context": "x", "question": \n', encoding="utf-8")
    with pytest.raises(TaskError, match=r"file .*bad.jsonl line 2: invalid JSON: Expecting value"):
        build_samples("hf_dataset", "1K", 5, seed=0, params={"path": str(bad)})
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("context,question,answer\na,b,c\nd,e\n", encoding="utf-8")
    with pytest.raises(TaskError, match=r"ragged.csv line 3: row has 2 fields where the header has 3"):
        build_samples("hf_dataset", "1K", 5, seed=0, params={"path": str(ragged)})
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(TaskError, match="broken.parquet: not a readable parquet file"):
        build_samples("hf_dataset", "1K", 5, seed=0, params={"path": str(broken)})
