"""The auto policy for plain prompts (a baseline call or an RLM sub-call).

It finds the question in the prompt, asks the matching reader for the answer in
the whole text, and then may misread: with probability

    p = min(0.9, 0.3 * (prompt_tokens / context_window) ** 3)

(drawn from the server seed and the request's bytes) a found answer is corrupted
(one character changed) or replaced by NOT FOUND. A plain model given a nearly
full window misreads ~30% of the time; an RLM sub-call at ~50% of the window
misreads ~4%, at ~35% about 1%. These are made-up but monotone dynamics, not
measured model behaviour.
"""
from __future__ import annotations

import random
import re

from rlm.prompts import NOT_FOUND
from rlm.sim.readers import Reader, reader_for
from rlm.sim.request import ChatRequest

# The sentence an RLM puts between the query and the chunk of a sub-call prompt.
SUBCALL_INSTRUCTION = f"Answer from the text below only. If it does not contain the answer, reply exactly {NOT_FOUND}."
_QUESTION = re.compile(r"(?:^|\n)Question:[ \t]*(.+)")
_EDGE_LINES = 20


def misread_probability(prompt_tokens: int, context_window: int) -> float:
    if context_window <= 0:
        return 0.0
    return min(0.9, 0.3 * (prompt_tokens / context_window) ** 3)


def _candidates(content: str):
    """Where a question sits: `Question: ...`, the first or last paragraph, edge lines.

    A sub-call prompt (SUBCALL_INSTRUCTION after its first paragraph) is asked by
    its first paragraph, so a "Question:" inside its text cannot take over."""
    first_break = content.find("\n\n")
    first = content[:first_break if first_break != -1 else 2000][:2000]
    if content.startswith(SUBCALL_INSTRUCTION, first_break + 2):
        yield first
    found = _QUESTION.findall(content[-4000:]) or _QUESTION.findall(content[:4000])
    if found:
        yield found[-1].strip()
    yield first
    last_break = content.rfind("\n\n")
    if last_break != -1:
        yield content[last_break + 2:][-2000:]
    head = content[:8000].splitlines()[:_EDGE_LINES]
    tail = content[-8000:].splitlines()[-_EDGE_LINES:]
    yield from reversed(tail)
    yield from head


def find_question(request: ChatRequest) -> tuple[str, Reader] | None:
    """The question of a plain prompt and its reader; user messages are searched last to first."""
    ordered = [m for m in reversed(request.messages) if m["role"] == "user"]
    ordered += [m for m in request.messages if m["role"] != "user"]
    for message in ordered:
        for candidate in _candidates(message["content"]):
            reader = reader_for(candidate)
            if reader is not None:
                return candidate, reader
    return None


def corrupt(answer: str, rng: random.Random) -> str:
    """Change one letter or digit of `answer` to another of the same kind."""
    positions = [i for i, ch in enumerate(answer) if ch.isalnum()]
    if not positions:
        return NOT_FOUND
    i = rng.choice(positions)
    ch = answer[i]
    pool = "0123456789" if ch.isdigit() else "abcdefghijklmnopqrstuvwxyz"
    new = rng.choice([c for c in pool if c != ch.lower()])
    if ch.isupper():
        new = new.upper()
    return answer[:i] + new + answer[i + 1:]


def plain_reply(request: ChatRequest) -> str:
    found = find_question(request)
    if found is None:
        return NOT_FOUND
    query, reader = found
    answer = reader.answer(query, request.text)
    if answer == NOT_FOUND:
        return NOT_FOUND
    rng = random.Random(f"{request.seed}|{request.digest}|misread")
    if rng.random() < misread_probability(request.prompt_tokens, request.context_window):
        return corrupt(answer, rng) if rng.random() < 0.5 else NOT_FOUND
    return answer
