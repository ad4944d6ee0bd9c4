"""Trajectory texts keep long slices of the sample's context as references, exactly resolvable."""
from __future__ import annotations

import json
import random

from rlm import ListSink, RLM_REPL, TextEvent
from rlm.context_refs import MIN_SLICE, OPEN, reference, resolve, spans, with_references

from tests.conftest import make_haystack, make_lm


def test_a_chunk_inside_a_prompt_becomes_a_reference_and_resolves_exactly():
    context = make_haystack(5_000, "The magic number is 1234567", seed=1)
    chunk = context[30_000:50_000]
    prompt = f"Find the magic number in:\n{chunk}\n\nQuestion: what is it?"
    stored = with_references(prompt, context)
    assert stored == f"Find the magic number in:\n{reference(30_000, 50_000)}\n\nQuestion: what is it?"
    assert resolve(stored, context) == prompt
    assert [ref for _, ref in spans(stored)] == [None, (30_000, 50_000), None]


def test_short_slices_and_unrelated_texts_stay_as_they_are():
    context = make_haystack(2_000, "The magic number is 1234567", seed=2)
    short = "say: " + context[100:100 + MIN_SLICE - 1]
    assert with_references(short, context) == short
    other = "lamp " * 2_000
    assert with_references(other, context) == other
    assert with_references(context[:5_000], None) == context[:5_000]
    marked = OPEN + context[:5_000]  # a text holding the bracket already is never rewritten
    assert with_references(marked, context) == marked


def test_any_mix_of_slices_resolves_to_the_text_that_was_sent():
    rng = random.Random(7)
    context = "".join(rng.choice(["alpha ", "beta ", "gamma\n", "delta "]) for _ in range(60_000))  # repetitive
    for _ in range(50):
        pieces = []
        for _ in range(rng.randint(1, 4)):
            start = rng.randrange(len(context) - 10_000)
            pieces += [rng.choice(["", "Q: ", "\n\n---\n", "x" * 300]), context[start:start + rng.randint(10, 9_000)]]
        text = "".join(pieces)
        stored = with_references(text, context)
        assert resolve(stored, context) == text
        assert len(stored) <= len(text)


def test_an_rlm_run_stores_its_sub_call_prompts_as_references(sim):
    sink = ListSink()
    context = make_haystack(30_000, "The magic number is 5550123", seed=5)
    result = RLM_REPL(make_lm(sim), sub_model=make_lm(sim, "sim-small"), depth=1, sink=sink).completion(
        context, "I'm looking for a magic number. What is it?")
    assert "5550123" in result.answer
    subs = {e.call_id for e in sink.llm_calls if e.role == "sub"}
    prompts = [e for e in sink.events if isinstance(e, TextEvent) and e.item_id in subs and e.field == "prompt"]
    assert prompts and all(OPEN + "context[" in e.text for e in prompts)
    assert sum(len(e.text) for e in prompts) * 20 < sum(e.chars for e in prompts)   # the context is not kept again
    assert all(len(resolve(e.text, context)) == e.chars for e in prompts)           # `chars`: the prompt as sent


def test_a_turn_s_messages_refer_to_the_cell_outputs_stored_before_them(sim):
    sink = ListSink()
    context = make_haystack(30_000, "The magic number is 5550123", seed=5)
    RLM_REPL(make_lm(sim), sub_model=make_lm(sim, "sim-small"), depth=1, sink=sink).completion(
        context, "I'm looking for a magic number. What is it?")
    texts = [e for e in sink.events if isinstance(e, TextEvent)]
    outputs = {e.item_id: e.text for e in texts if e.field == "output"}
    later = [e for e in texts if e.field == "messages" and "REPL output" in e.text]
    assert later and any(OPEN + "output:" in e.text for e in later)
    assert max(len(o) for o in outputs.values()) >= 200
    for e in later:  # each resolves to exactly the messages that were sent
        sent = [{**m, "content": resolve(m["content"], context, outputs)} for m in json.loads(e.text)]
        assert all(m["content"].startswith("REPL output (cell 1):") for m in sent if m["role"] == "user")
        assert all(OPEN not in m["content"] for m in sent)
    assert all(OPEN not in outputs[k] for k in outputs)
