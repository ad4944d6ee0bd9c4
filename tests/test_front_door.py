"""The library's front door: the seed's and the official library's ways in, both answer protocols,
the persistent REPL. Real worker processes and the simulator over HTTP with the real openai client."""
from __future__ import annotations

import pytest

import rlm
from rlm import RLM, RLM_REPL, ConfigError, LMConfig, ModelClient, RLMError
from rlm.repl import SandboxLimits
from rlm.sim import ScriptedPolicy, SimServer

from tests.conftest import make_haystack, make_lm

QUESTION = "I'm looking for a magic number. What is it?"


@pytest.fixture(scope="module")
def needle_haystack() -> str:
    haystack = make_haystack(150_000, "The magic number is 8061942", seed=7)
    assert len(haystack) > 4_000_000  # about 1M cl100k tokens
    return haystack


@pytest.fixture
def sim_env(sim, monkeypatch):
    """OPENAI_BASE_URL at the simulator, as a user of the openai SDK would set it."""
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return sim


@pytest.mark.parametrize("sub", [{"recursive_model": "sim-small"}, {"sub_model": "sim-small"}])
def test_the_seeds_example_with_model_names_finds_the_1m_token_needle(sim_env, needle_haystack, sub):
    result = RLM_REPL(model="sim-large", max_iterations=10, api_key=None, **sub).completion(context=needle_haystack,
                                                                                            query=QUESTION)
    assert "8061942" in str(result)
    assert result.stop_reason in ("final", "final_var")
    assert set(result.usage.by_model) == {"sim-large", "sim-small"}
    assert result.usage.total.cost_usd and result.usage.total.cost_usd > 0  # prices from the model table


def test_the_official_facade_finds_the_needle_and_reports_usage(sim_env, needle_haystack):
    facade = RLM(backend="openai", backend_kwargs={"model_name": "sim-large"}, max_depth=1, max_iterations=10,
                 other_backends=["openai"], other_backend_kwargs=[{"model_name": "sim-small"}])
    completion = facade.completion(needle_haystack, root_prompt=QUESTION)
    assert "8061942" in completion.response
    assert completion.execution_time > 0
    summaries = completion.usage_summary.model_usage_summaries
    assert summaries["sim-large"].total_calls >= 1 and summaries["sim-small"].total_calls >= 8
    assert summaries["sim-small"].total_input_tokens > 1_000_000
    assert completion.usage_summary.to_dict()["total_cost"] == pytest.approx(completion.result.usage.total.cost_usd)


@pytest.mark.parametrize("kwargs, says", [
    ({"model": 42}, "model must be a model name, an LMConfig or a model client, not int"),
    ({"model": "sim-large", "sub_model": ["sim-small"]}, "sub_model must be a model name"),
    ({"model": "sim-large", "recursive_models": "sim-small"}, "recursive_models must be a list"),
    ({"model": "sim-large", "sub_model": "a", "recursive_model": "b"}, "give the sub-models once"),
    ({"model": "sim-large", "api_key": "sk-x"}, "keys come from the environment"),
    ({"model": "sim-large", "enable_loging": True}, "unsupported argument(s) enable_loging"),
    ({"model": "sim-large", "depth": -1}, "depth must be an int >= 0"),
])
def test_anything_else_is_a_config_error_at_construction_showing_the_right_form(sim_env, kwargs, says):
    with pytest.raises(ConfigError) as caught:
        RLM_REPL(**kwargs)
    assert says in str(caught.value)


def test_a_name_without_a_base_url_needs_the_openai_key(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        RLM_REPL(model="gpt-5-mini", recursive_model="gpt-5-nano")


def test_the_model_table_knows_the_simulators_models_as_the_simulator_does():
    from rlm.model_client import KNOWN_MODELS
    from rlm.sim.models import DEFAULT_MODELS

    for spec in DEFAULT_MODELS:
        assert (KNOWN_MODELS[spec.name].context_window, KNOWN_MODELS[spec.name].price) == (spec.context_window,
                                                                                          spec.price)


def test_names_configs_and_clients_are_all_model_clients(sim_env):
    by_config = RLM_REPL(LMConfig(model="sim-large", base_url=sim_env.base_url), sub_model=make_lm(sim_env, "sim-small"))
    assert all(isinstance(m, ModelClient) for m in by_config.models)
    unknown = RLM_REPL("some-local-model")
    assert unknown.models[0].config.price is None and unknown.models[0].config.context_window is None
    assert RLM_REPL("gpt-5-mini").models[0].config.context_window == 272_000
    same = RLM_REPL("sim-large", sub_models=["sim-small", "sim-large", "sim-small"])
    assert same.models[0] is same.models[2] and same.models[1] is same.models[3]  # one client per name


@pytest.mark.parametrize("kwargs, says", [
    ({"backend": "anthropic", "backend_kwargs": {"model_name": "x"}}, "backend 'anthropic' is not supported"),
    ({"backend_kwargs": {"model_name": "sim-large", "api_key": "sk-x"}}, "keys come from the environment"),
    ({"backend_kwargs": {"model_name": "sim-large"}, "environment": "docker"}, "only 'local'"),
    ({"backend_kwargs": {"model_name": "sim-large"}, "max_errors": 3}, "max_errors not supported"),
    ({"backend_kwargs": {}}, "needs model_name"),
    ({"backend_kwargs": {"model_name": "sim-large"}, "other_backends": ["openai"]}, "lists of one entry"),
])
def test_the_facade_rejects_what_it_cannot_honour(sim_env, kwargs, says):
    with pytest.raises(ConfigError) as caught:
        RLM(**kwargs)
    assert says in str(caught.value)


def scripted(*replies: str) -> SimServer:
    return SimServer(policy={"sim-large": ScriptedPolicy(list(replies)), "sim-small": "auto"})


def rlm_for(server: SimServer, **kwargs: object) -> RLM_REPL:
    return RLM_REPL(make_lm(server), sub_model=make_lm(server, "sim-small"),
                    limits=SandboxLimits(cell_timeout_s=20), **kwargs)  # type: ignore[arg-type]


def test_the_answer_dict_ends_the_run_at_the_cell_that_sets_ready():
    with scripted("```repl\nanswer['content'] = '4' + '2'\nanswer['ready'] = True\n```\n"
                  "```repl\nprint('never runs')\n```\nFINAL(not this)",
                  "FINAL(never asked)") as server:
        result = rlm_for(server).completion("ctx", "q")
    assert (result.answer, result.stop_reason, result.iterations) == ("42", "answer_ready", 1)
    assert len(result.trajectory[0].cells) == 1


def test_answer_content_without_ready_is_the_partial_answer_and_final_keeps_quotes():
    with scripted("```repl\nanswer['content'] = 'draft'\n```", 'FINAL("Blue")') as server:
        result = rlm_for(server).completion("ctx", "q")
    assert (result.answer, result.stop_reason) == ('"Blue"', "final")
    with scripted("```repl\nanswer['content'] = 'draft'\n```", "```repl\nx = 1\n```") as server:
        result = rlm_for(server, max_iterations=1).completion("ctx", "q")
    assert (result.answer, result.stop_reason) == ("draft", "max_iterations")


def test_persistent_repl_keeps_variables_across_completions_and_replaces_context():
    replies = ["```repl\nsaved = context.upper()\n```\nFINAL(stored)",
               "```repl\nanswer['content'] = saved + '+' + context\nanswer['ready'] = True\n```"]
    with scripted(*replies) as server, rlm_for(server, persistent=True) as kept:
        assert kept.completion("first", "q").answer == "stored"
        second = kept.completion("second", "q")
    assert (second.answer, second.stop_reason) == ("FIRST+second", "answer_ready")
    with scripted(*replies) as server:
        plain = rlm_for(server)
        plain.completion("first", "q")
        second = plain.completion("second", "q")
    assert "NameError" in second.trajectory[0].cells[0].output and second.stop_reason != "answer_ready"


def test_every_public_error_derives_from_rlm_error_and_all_is_complete():
    assert all(issubclass(getattr(rlm, name), RLMError) for name in rlm.__all__ if name.endswith("Error"))
    public = {name for name in dir(rlm) if not name.startswith("_") and name[0].isupper()}
    assert public <= set(rlm.__all__)


def test_the_facade_is_persistent_on_request_and_maps_budgets(monkeypatch):
    replies = ["```repl\nseen = context\n```\nFINAL(first)", "```repl\nprint(seen)\n```\nFINAL_VAR(seen)"]
    with scripted(*replies) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        with RLM(backend_kwargs={"model_name": "sim-large"}, persistent=True, max_budget=5.0, max_timeout=60,
                 max_tokens=10_000_000) as facade:
            assert facade.completion("one").response == "first"
            second = facade.completion("two")
    assert second.response == "one" and second.stop_reason == "final_var"
    assert facade.rlm.budget.max_cost_usd == 5.0 and facade.rlm.budget.max_wall_s == 60
