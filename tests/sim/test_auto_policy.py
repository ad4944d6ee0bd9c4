"""The auto policy driven by a small hand-written RLM loop (the real RLM is tested elsewhere)."""
from __future__ import annotations

import concurrent.futures
import contextlib
import io
import random
import re

import openai
import pytest

from rlm import prompts
from rlm.sim import SimServer
from rlm.sim.policy_plain import misread_probability

WORDS = ("apple river stone cloud paper market garden window silver orange planet music table "
         "forest candle bridge mirror winter summer yellow quiet rapid gentle number letter").split()
NEEDLE = "8675309"
QUERY = "I'm looking for a magic number. What is it?"


@pytest.fixture(scope="module")
def haystack() -> str:
    """~1M cl100k tokens of 3-8 word filler lines, one needle line at ~47%."""
    rng = random.Random(1)
    lines = [" ".join(rng.choices(WORDS, k=rng.randint(3, 8))) for _ in range(150_000)]
    lines.insert(int(len(lines) * 0.47), f"The magic number is {NEEDLE}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def server():
    with SimServer(seed=0) as sim:
        yield sim


def _complete(client, model: str, messages: list[dict]) -> str:
    return client.chat.completions.create(model=model, messages=messages).choices[0].message.content


def run_rlm(client, context, query: str, *, depth: int = 1, sub_window: int = 65536, max_turns: int = 8,
            transcript: list | None = None) -> str:
    """Root on sim-large, sub-calls on sim-small, code run with exec in a dict namespace."""
    transcript = [] if transcript is None else transcript
    def llm_query_batched(batch: list[str]) -> list[str]:
        def one(prompt: str) -> str:
            try:
                return _complete(client, "sim-small", [{"role": "user", "content": prompt}])
            except openai.APIStatusError as exc:
                return f"Error: {type(exc).__name__}: {exc.message} ({exc.code})"
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, batch))

    def rlm_query_batched(contexts: list, child_query: str) -> list[str]:
        return [run_rlm(client, piece, child_query, depth=depth - 1, sub_window=sub_window) for piece in contexts]

    namespace = {"context": context, "llm_query_batched": llm_query_batched, "rlm_query_batched": rlm_query_batched}
    system = prompts.system_prompt(context, depth=depth, sub_window_tokens=sub_window if depth else None,
                                   max_output_chars=2000, cell_timeout_s=60)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": prompts.query_message(query)}]
    for _ in range(max_turns):
        reply = _complete(client, "sim-large", messages)
        messages.append({"role": "assistant", "content": reply})
        transcript.append(messages[-1])
        final = re.search(r"^FINAL_VAR\((\w+)\)\s*$", reply, re.MULTILINE)
        if final:
            return str(namespace[final.group(1)])
        final = re.search(r"^FINAL\((.*)\)\s*$", reply, re.MULTILINE)
        if final:
            return final.group(1)
        outputs = []
        for code in re.findall(r"```repl\n(.*?)```", reply, re.DOTALL):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(code, namespace)
            outputs.append(buffer.getvalue()[:2000])
        messages.append({"role": "user", "content": prompts.output_message(outputs)})
        transcript.append(messages[-1])
    raise AssertionError("no final answer")


def test_rlm_finds_needle_in_1m_tokens_while_plain_call_overflows(server, haystack):
    client = server.openai_client(max_retries=0, timeout=60)
    with pytest.raises(openai.BadRequestError) as info:
        _complete(client, "sim-large", [{"role": "user", "content": f"{haystack}\n\nQuestion: {QUERY}\nAnswer:"}])
    assert info.value.code == "context_length_exceeded"
    tokens_in_prompt = int(re.search(r"resulted in (\d+) tokens", info.value.message).group(1))
    assert 900_000 < tokens_in_prompt < 1_200_000
    transcript: list = []
    assert run_rlm(client, haystack, QUERY, transcript=transcript) == NEEDLE
    assert "type: str" in transcript[1]["content"] and "length:" in transcript[1]["content"]  # the probe
    chunks = int(re.search(r"about (\d+) chunks", transcript[3]["content"]).group(1))
    assert chunks >= 16  # 1M tokens through a 64K-token sub-window


def test_root_turns_probe_fan_out_check_answer_and_reuse_the_cached_prefix(server, haystack):
    client = server.openai_client(max_retries=0, timeout=60)
    transcript: list = []
    cached: list[int] = []
    original = client.chat.completions.create

    def create(**kwargs):
        reply = original(**kwargs)
        if kwargs["model"] == "sim-large":
            cached.append(reply.usage.prompt_tokens_details.cached_tokens)
        return reply

    client.chat.completions.create = create
    assert run_rlm(client, haystack, QUERY, transcript=transcript) == NEEDLE
    turns = [m["content"] for m in transcript if m["role"] == "assistant"]
    assert [re.search(r"mode=(\w+)", t).group(1) if "mode=" in t else "final" for t in turns] == \
        ["probe", "chunks", "check", "final"]
    assert "sub-calls found something" in transcript[5]["content"]
    assert cached[:2] == [0, 0] and all(c >= 1024 for c in cached[2:])  # the conversation passed 1,024 tokens


def test_chunks_halve_after_context_length_errors(server):
    """A lying sub-window makes the first chunks too large; the policy halves and succeeds."""
    rng = random.Random(2)
    lines = [" ".join(rng.choices(WORDS, k=6)) for _ in range(30_000)]
    lines.insert(20_000, f"The magic number is {NEEDLE}")
    client = server.openai_client(max_retries=0, timeout=60)
    transcript: list = []
    assert run_rlm(client, "\n".join(lines), QUERY, sub_window=300_000, transcript=transcript) == NEEDLE
    assert "context_length_exceeded" in transcript[3]["content"]
    assert "attempt=2 chunk_chars=262500" in transcript[4]["content"]


def test_depth2_uses_child_rlms(server, haystack):
    client = server.openai_client(max_retries=0, timeout=60)
    transcript: list = []
    assert run_rlm(client, haystack, QUERY, depth=2, transcript=transcript) == NEEDLE
    assert "rlm_query_batched(pieces, query)" in transcript[2]["content"]
    assert "asked child RLMs about" in transcript[3]["content"]


def test_depth0_greps_then_answers(server):
    context = "\n".join(["alpha beta gamma"] * 2000 + [f"The magic number is {NEEDLE}"] + ["delta"] * 100)
    client = server.openai_client(max_retries=0)
    assert run_rlm(client, context, QUERY, depth=0) == NEEDLE


def test_ruler_multiquery_union_across_chunks(server):
    rng = random.Random(3)
    sentences = [f"The grass is green and the sky is blue number {i}." for i in range(40_000)]
    needles = {("alpha-key", "1111111"), ("beta-key", "2222222"), ("alpha-key", "3333333"), ("gamma-key", "4444444")}
    for key, value in sorted(needles):
        sentences.insert(rng.randrange(len(sentences)), f"One of the special magic numbers for {key} is: {value}.")
    query = "What are all the special magic numbers for alpha-key and beta-key mentioned in the provided text?"
    client = server.openai_client(max_retries=0, timeout=60)
    answer = run_rlm(client, " ".join(sentences), query, sub_window=8192)
    assert set(answer.split(", ")) == {"1111111", "2222222", "3333333"}


def test_plain_baseline_and_unknown_question(server):
    client = server.openai_client(max_retries=0)
    text = "some filler\nThe magic number is 4242424\nmore filler"
    assert _complete(client, "sim-small", [{"role": "user", "content": f"{text}\n\nQuestion: {QUERY}\nAnswer:"}]) == "4242424"
    assert _complete(client, "sim-small", [{"role": "user", "content": "What is the capital of France?"}]) == "NOT FOUND"
    no_needle = f"just filler\n\nQuestion: {QUERY}\nAnswer:"
    assert _complete(client, "sim-small", [{"role": "user", "content": no_needle}]) == "NOT FOUND"


def test_misread_grows_with_length(server):
    assert misread_probability(32768, 65536) == pytest.approx(0.0375)
    assert misread_probability(65536, 65536) == pytest.approx(0.3)
    client = server.openai_client(max_retries=0)
    rng = random.Random(4)
    wrong = 0
    for trial in range(12):
        lines = [" ".join(rng.choices(WORDS, k=6)) for _ in range(8_800)]  # ~60K of 65K tokens
        lines.insert(4000, f"The magic number is {NEEDLE}")
        prompt = "\n".join(lines) + f"\n\nQuestion: {QUERY}\nAnswer:"
        wrong += _complete(client, "sim-small", [{"role": "user", "content": prompt}]) != NEEDLE
    assert wrong >= 1  # p ~ 0.23 per call: a plain model near its window makes mistakes
