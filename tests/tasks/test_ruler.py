"""RULER's tasks as RULER builds them: whole prompt + output budget fitted to the size, its
templates, answer prefixes, caps, haystacks; and the cap really limits a list-everything answer."""
from __future__ import annotations

import re

from collections import Counter
from pathlib import Path

import openai
import pytest

from evals.scoring import score
from evals.tasks import TaskError, build_samples
from rlm.sim import ScriptedPolicy, SimServer
from rlm.tokens import count_tokens

ESSAY = str(Path(__file__).resolve().parents[1] / "fixtures" / "essays" / "essay.txt")
CAPS = {"ruler_niah": 128, "vt": 30, "cwe": 120, "fwe": 50}
SHAPES = [("ruler_niah", {"variant": "single_1"}), ("ruler_niah", {"variant": "multikey_2"}),
          ("ruler_niah", {"variant": "multikey_3"}), ("ruler_niah", {"variant": "multivalue", "haystack_file": ESSAY}),
          ("ruler_niah", {"variant": "multiquery", "haystack": "noise"}), ("vt", {}), ("cwe", {}), ("fwe", {})]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("ruler-cache")


@pytest.mark.parametrize("size", ["4K", "128K"])
@pytest.mark.parametrize("task,params", SHAPES, ids=[f"{t}-{p.get('variant', '')}" for t, p in SHAPES])
def test_baseline_prompt_plus_cap_fits_the_size(cache, task, params, size):
    samples = build_samples(task, size, 2 if size == "4K" else 1, seed=3, params=params, cache_dir=cache)
    for sample in samples:
        total = count_tokens(sample.baseline_prompt()) + sample.max_output_tokens
        assert total <= sample.size_tokens, sample.sample_id
        assert total >= 0.98 * sample.size_tokens  # fitted, not merely under
        assert sample.max_output_tokens == CAPS[task]
        assert sample.metadata["tokenizer"] == "cl100k_base"


def test_essay_haystack_puts_needles_between_sentences(cache):
    params = {"variant": "multivalue", "haystack_file": ESSAY}
    sample = build_samples("ruler_niah", "8K", 1, seed=1, params=params, cache_dir=cache)[0]
    needles = re.findall(r"One of the special magic numbers for \S+ is: \d+", sample.context)
    assert len(needles) == 4
    for value in sample.expected:
        assert f" is: {value}. " in sample.context or sample.context.endswith(f" is: {value}.")
    with pytest.raises(TaskError, match="haystack_file"):
        build_samples("ruler_niah", "8K", 1, seed=1, params={"variant": "single_2"}, cache_dir=cache)
    with pytest.raises(TaskError, match="does not exist"):
        build_samples("ruler_niah", "8K", 1, seed=1, params={"variant": "single_2", "haystack_file": "nope.txt"},
                      cache_dir=cache)


def test_needle_haystack_every_line_a_needle_one_with_the_key(cache):
    sample = build_samples("ruler_niah", "4K", 1, seed=2, params={"variant": "multikey_3"}, cache_dir=cache)[0]
    lines = sample.context.splitlines()
    assert all(line.startswith("One of the special magic uuids for ") for line in lines)
    (key,) = sample.metadata["keys"]
    assert sum(f" for {key} is: " in line for line in lines) == 1 and len(lines) > 20
    assert sample.query == f"What is the special magic uuid for {key} mentioned in the provided text?"


def test_fwe_question_vocabulary_and_prefix(cache):
    sample = build_samples("fwe", "8K", 1, seed=2, cache_dir=cache)[0]
    assert "Do not provide any explanation. Please ignore the dots '....'. What are the three most frequently " \
           "appeared words in the above coded text?" in sample.prompt_after
    assert sample.prompt_after.endswith(" Answer: According to the coded text above, the three most frequently "
                                        "appeared words are:")
    assert sample.metadata["vocab_size"] == (8192 - 50) // 50
    counts = Counter(w for w in sample.context.split() if w != "...")
    assert [w for w, _ in counts.most_common(3)] == sample.expected
    assert Counter(sample.context.split()).most_common(1)[0][0] == "..."


def test_cwe_one_shot_example_and_prefix(cache):
    sample = build_samples("cwe", "8K", 1, seed=2, cache_dir=cache)[0]
    head = "Below is a numbered list of words. In these words, some appear more often than others."
    assert sample.prompt_before.startswith(head) and sample.prompt_before.count(head) == 2
    example = sample.prompt_before.split("\n" + head)[0]
    assert "Answer: The top 10 words that appear most often in the list are: 1. " in example
    assert sample.prompt_after.endswith("Answer: The top 10 words that appear most often in the list are:")


@pytest.mark.parametrize("task", ["cwe", "fwe"])
def test_listing_every_candidate_is_cut_by_the_cap(cache, task):
    """A reply naming every word of the context, sent with the task's max_tokens, loses words."""
    sample = build_samples(task, "8K", 1, seed=4, cache_dir=cache)[0]
    words = sorted({w for w in sample.context.replace(".", " ").split() if w.isalpha()})
    everything = ", ".join(words)
    assert score(sample.metric, everything, sample.expected) == 1.0  # uncapped, it would get full marks
    with SimServer(policy=ScriptedPolicy([everything]), time_scale=0.0) as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="x")
        reply = client.chat.completions.create(model="sim-large", max_tokens=sample.max_output_tokens,
                                               messages=[{"role": "user", "content": sample.baseline_prompt()}])
    text = reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "length" and count_tokens(text) <= sample.max_output_tokens
    assert score(sample.metric, text, sample.expected) < 1.0


def test_unknown_tokenizer_is_one_clear_error(cache):
    with pytest.raises(TaskError, match="tokenizer 'no-such-encoding' is not available"):
        build_samples("vt", "4K", 1, seed=0, params={"tokenizer": "no-such-encoding"}, cache_dir=cache)
