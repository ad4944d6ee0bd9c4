"""The optional response cache: a repeated request is answered from disk, and says so."""
from rlm import RLM_REPL, ModelClient
from rlm.events import ListSink
from rlm.response_cache import CachedLM
from rlm.trace import Tracer

from tests.conftest import make_lm


def test_second_identical_request_is_served_from_the_cache(sim, tmp_path):
    lm = CachedLM(make_lm(sim), tmp_path / "responses.sqlite")
    sink = ListSink()
    tracer = Tracer(sink, "run", "q")
    prompt = "I'm looking for a magic number. What is it?\n\nThe magic number is 9090909"
    first = tracer.call(lm, prompt, role="baseline", depth=0)
    second = tracer.call(lm, prompt, role="baseline", depth=0)
    other = tracer.call(lm, prompt + " ", role="baseline", depth=0)
    assert not first.from_cache and second.from_cache and not other.from_cache
    assert second.text == first.text and second.usage == first.usage
    assert [e.status for e in sink.llm_calls] == ["ok", "cached", "ok"]
    reopened = CachedLM(make_lm(sim), tmp_path / "responses.sqlite")
    assert reopened.complete(prompt).from_cache
    assert isinstance(reopened, ModelClient)
    assert RLM_REPL(reopened, sub_model=make_lm(sim, "sim-small")).models[0] is reopened  # a client is used as is
