"""Simulator readers on generated samples: full-text answers, chunk combining, depth-0 grep."""
from __future__ import annotations

import contextlib
import io

import pytest

from evals.scoring import score
from evals.tasks import build_samples
from rlm.prompts import NOT_FOUND
from rlm.sim.readers import reader_for

FAMILIES = [("niah", {}), ("ruler_niah", {"variant": "multiquery", "haystack": "noise"}), ("vt", {"num_chains": 2}),
            ("cwe", {}), ("fwe", {}), ("qa_retrieval", {}), ("qa_multihop", {}), ("qa_aggregation", {}),
            ("qa_pairs", {})]
# RULER's other NIAH shapes: one needle (singular wording) and the all-needle haystack.
MORE_NIAH = [{"variant": "single_1"}, {"variant": "multikey_2"}, {"variant": "multikey_3"}]


def _flat(context) -> str:
    return context if isinstance(context, str) else "\n".join(context)


def _run(code: str, namespace: dict) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, namespace)  # the snippets are written for the REPL sandbox
    return out.getvalue()


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    return {task: build_samples(task, "8K", 3, seed=21, params=params, cache_dir=root)
            for task, params in FAMILIES}


@pytest.mark.parametrize("task", [t for t, _ in FAMILIES])
def test_answer_on_full_text_scores_one(samples, task):
    for sample in samples[task]:
        reader = reader_for(sample.query)
        assert reader is not None and reader.name == sample.family
        prediction = reader.answer(sample.query, _flat(sample.context))
        assert score(sample.metric, prediction, sample.expected) == 1.0, (sample.sample_id, prediction)


@pytest.mark.parametrize("task", [t for t, _ in FAMILIES])
def test_grep_output_answers(samples, task):
    for sample in samples[task]:
        reader = reader_for(sample.query)
        code = reader.grep_code(sample.query)
        if code is None:
            continue
        printed = _run(code, {"context": sample.context})
        assert len(printed) < len(_flat(sample.context)) / 4
        assert score(sample.metric, reader.answer(sample.query, printed), sample.expected) == 1.0


@pytest.mark.parametrize("task", ["ruler_niah", "cwe", "fwe", "qa_aggregation", "qa_retrieval"])
def test_combine_over_chunks(samples, task):
    sample = samples[task][0]
    reader = reader_for(sample.query)
    text = _flat(sample.context)
    half = text.find(" ", len(text) // 2) if "\n" not in text.strip() else text.find("\n", len(text) // 2)
    chunks = [text[:half + 1], text[half + 1:]]  # RULER's cwe/fwe lists are one line
    answers = [reader.answer(sample.query, c) for c in chunks] + ["Error: TimeoutError: slow", NOT_FOUND]
    namespace = {"answers": answers}
    _run(reader.combine_code(sample.query), namespace)
    assert score(sample.metric, namespace["answer"], sample.expected) == 1.0, namespace["answer"]


@pytest.mark.parametrize("params", MORE_NIAH, ids=lambda p: p["variant"])
def test_ruler_niah_shapes_answer_from_the_baseline_prompt(tmp_path, params):
    for sample in build_samples("ruler_niah", "4K", 2, seed=5, params=params, cache_dir=tmp_path):
        reader = reader_for(sample.query)
        assert reader is not None and reader.name == "ruler_niah"
        prediction = reader.answer(sample.query, sample.baseline_prompt())
        assert score(sample.metric, prediction, sample.expected) == 1.0, (sample.sample_id, prediction)


@pytest.mark.parametrize("task", ["vt", "cwe", "fwe"])
def test_one_shot_examples_do_not_mislead_the_reader(samples, task):
    """The baseline prompt holds RULER's one-shot example too; the reader still answers the task."""
    for sample in samples[task]:
        prediction = reader_for(sample.query).answer(sample.query, sample.baseline_prompt())
        assert score(sample.metric, prediction, sample.expected) == 1.0, (sample.sample_id, prediction)


def test_readers_say_not_found_on_unrelated_text(samples):
    for task, _ in FAMILIES:
        sample = samples[task][0]
        assert reader_for(sample.query).answer(sample.query, "Nothing to see here.") == NOT_FOUND


def test_combine_sums_counts_and_unions_pairs():
    agg = reader_for("How many documents have the label human?")
    namespace = {"answers": ["3", NOT_FOUND, "Error: X: y", "4"]}
    _run(agg.combine_code("How many documents have the label human?"), namespace)
    assert namespace["answer"] == "7"
    query = "List all pairs of people who have the same hometown. Give one pair per line as: Name & Name."
    pairs = reader_for(query)
    namespace = {"answers": ["A & B\nC & D", "A & B", NOT_FOUND]}
    _run(pairs.combine_code(query), namespace)
    assert namespace["answer"] == "A & B\nC & D"
    vt_query = "Find all variables that are assigned the value 12345 in the text above."
    vt = reader_for(vt_query)
    assert vt.answer(vt_query, "VAR BBBBB = VAR AAAAA\nVAR AAAAA = 12345\nVAR CCCCC = 54321") == "AAAAA, BBBBB"
