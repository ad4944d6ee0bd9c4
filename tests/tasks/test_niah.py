"""niah and ruler_niah: fitted size, needle placement, determinism, cache, bad input."""
from __future__ import annotations

import pytest

from evals.tasks import TaskError, build_samples, min_size
from evals.tasks.ruler_text import join_queries
from rlm.tokens import count_tokens


@pytest.mark.parametrize("size", [1024, 4096, 32768])
def test_niah_fits_just_under_size_and_counts_exactly(tmp_path, size):
    sample = build_samples("niah", size, 1, seed=3, cache_dir=tmp_path)[0]
    actual = count_tokens(sample.context)
    assert sample.metadata["actual_tokens"] == actual
    assert 0.99 * size <= actual <= size


@pytest.mark.parametrize("size", [1024, 4096, 32768])
@pytest.mark.parametrize("params", [
    {"variant": "multikey_1", "value_type": "uuids", "haystack": "noise"},
    {"variant": "multiquery", "key_type": "numbers", "value_type": "words", "haystack": "noise"},
])
def test_ruler_whole_prompt_fits_just_under_size(tmp_path, params, size):
    sample = build_samples("ruler_niah", size, 1, seed=3, params=params, cache_dir=tmp_path)[0]
    total = count_tokens(sample.baseline_prompt()) + sample.max_output_tokens
    assert sample.metadata["actual_tokens"] == total
    assert size - 50 <= total <= size


def test_niah_needle_once_at_depth(tmp_path):
    for depth in (0, 25, 50, 100):
        sample = build_samples("niah", "8K", 1, seed=1, params={"depth_percent": depth}, cache_dir=tmp_path)[0]
        (number,) = sample.expected
        needle = f"The magic number is {number}"
        lines = sample.context.splitlines()
        assert sum(line == needle for line in lines) == 1
        assert sample.context.count(number) == 1
        before = sample.context[:sample.context.index(needle)]
        assert abs(100 * count_tokens(before) / sample.metadata["actual_tokens"] - depth) < 0.5
        assert abs(sample.metadata["depth_percent"] - depth) < 0.5
        assert sample.query == "I'm looking for a magic number. What is it?"
        assert sample.metric == "string_match_all" and isinstance(sample.context, str)


def test_niah_random_depth_in_seed_range(tmp_path):
    for sample in build_samples("niah", "4K", 6, seed=9, cache_dir=tmp_path):
        assert 39 <= sample.metadata["depth_percent"] <= 61
        assert all(3 <= len(line.split()) <= 8 for line in sample.context.splitlines()
                   if not line.startswith("The magic number"))


@pytest.mark.parametrize("variant,planted,answers", [
    ("multikey_1", 4, 1), ("multivalue", 4, 4), ("multiquery", 4, 4)])
def test_ruler_variants(tmp_path, variant, planted, answers):
    params = {"variant": variant, "haystack": "noise"}
    sample = build_samples("ruler_niah", "4K", 1, seed=2, params=params, cache_dir=tmp_path)[0]
    needles = [line for line in sample.context.splitlines() if line.startswith("One of the special magic")]
    assert len(needles) == planted and len(sample.expected) == answers
    for value in sample.expected:
        assert sum(value in line for line in needles) == 1
    keys = sample.metadata["keys"]
    if answers == 1:  # RULER's singular wording for one queried value
        assert sample.query == f"What is the special magic number for {keys[0]} mentioned in the provided text?"
        assert sample.prompt_before.startswith("A special magic number is hidden within the following text.")
        assert sample.prompt_after.endswith(f" The special magic number for {keys[0]} mentioned in the provided "
                                            "text is")
    else:
        assert sample.query == (f"What are all the special magic numbers for {join_queries(keys)} "
                                "mentioned in the provided text?")
        assert sample.prompt_after.endswith("mentioned in the provided text are")
    assert "The grass is green. The sky is blue." in sample.context


def test_join_queries_is_rulers_list():
    assert join_queries(["a"]) == "a"
    assert join_queries(["a", "b"]) == "a, and b"
    assert join_queries(["a", "b", "c"]) == "a, b, and c"


def test_regeneration_is_byte_identical_and_seed_matters(tmp_path):
    params = {"variant": "multivalue", "value_type": "uuids", "haystack": "noise"}
    first = build_samples("ruler_niah", "4K", 3, seed=5, params=params, cache_dir=tmp_path / "a")
    again = build_samples("ruler_niah", "4K", 3, seed=5, params=params, cache_dir=tmp_path / "b")
    assert [s.to_dict() for s in first] == [s.to_dict() for s in again]
    other = build_samples("ruler_niah", "4K", 1, seed=6, params=params, cache_dir=tmp_path / "a")[0]
    assert other.context != first[0].context
    assert len({s.sample_id for s in first}) == 3
    assert first[0].sample_id == "ruler_niah-multivalue_noise_words_uuids-4K-5-0"


def test_cache_hit_loads_without_regenerating(tmp_path, monkeypatch):
    first = build_samples("niah", "4K", 2, seed=0, cache_dir=tmp_path)
    files = sorted(p for p in tmp_path.rglob("*.json"))
    assert len(files) == 2 and not list(tmp_path.rglob(".tmp-*"))
    from evals.tasks.niah import TASK

    def boom(*args, **kwargs):
        raise AssertionError("regenerated despite a cached sample")
    monkeypatch.setattr(TASK, "generate", boom)
    assert [s.to_dict() for s in build_samples("niah", "4K", 2, seed=0, cache_dir=tmp_path)] == \
        [s.to_dict() for s in first]


def test_corrupt_cache_file_is_regenerated(tmp_path):
    first = build_samples("niah", "1K", 1, seed=0, cache_dir=tmp_path)[0]
    (path,) = tmp_path.rglob("*.json")
    path.write_text("{half", encoding="utf-8")
    assert build_samples("niah", "1K", 1, seed=0, cache_dir=tmp_path)[0] == first


@pytest.mark.parametrize("task,params,size,message", [
    ("nope", {}, 4096, "unknown task 'nope'"),
    ("niah", {"colour": 1}, 4096, "unknown param(s) colour"),
    ("niah", {"depth_percent": 140}, 4096, "depth_percent=140"),
    ("ruler_niah", {"variant": "triple"}, 4096, "variant='triple' is not one of"),
    ("ruler_niah", {"value_type": "emoji"}, 4096, "value_type='emoji'"),
    ("ruler_niah", {"variant": "single_2"}, 4096, "set task.params.haystack_file"),
    ("niah", {}, "12Q", "invalid size '12Q'"),
    ("niah", {}, 10, "below its minimum of 64 tokens"),
])
def test_bad_input_is_one_clear_task_error(tmp_path, task, params, size, message):
    with pytest.raises(TaskError) as info:
        build_samples(task, size, 1, seed=0, params=params, cache_dir=tmp_path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_min_size():
    assert min_size("niah") == 64
    assert min_size("ruler_niah", {"variant": "multivalue", "haystack": "noise"}) > min_size("ruler_niah")


def test_hydra_style_params_are_plain_values(tmp_path):
    omegaconf = pytest.importorskip("omegaconf")
    params = omegaconf.OmegaConf.create({"depth_percent": [10, 90]})
    samples = build_samples("niah", "4K", 3, seed=0, params=params, cache_dir=tmp_path)
    assert samples[0].metadata["params"] == {"depth_percent": [10, 90]}
    # A list of depths is spread over the samples in turn.
    assert [s.metadata["target_depth_percent"] for s in samples] == [10, 90, 10]


def test_presets_parse_and_name_a_task():
    yaml = pytest.importorskip("yaml")
    from pathlib import Path

    from evals.tasks import get_task
    conf_task = Path(__file__).resolve().parents[2] / "conf" / "task"
    presets = sorted(p for p in conf_task.glob("*.yaml")
                     if p.stem in ("babilong", "longbench_v2", "oolong", "ruler_qa"))
    assert {p.stem for p in presets} >= {"babilong", "longbench_v2", "oolong", "ruler_qa"}
    for path in presets:
        preset = yaml.safe_load(path.read_text())
        get_task(preset["name"]).resolve(preset["params"])
