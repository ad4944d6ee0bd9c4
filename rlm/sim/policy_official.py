"""The auto policy for root prompts of the official RLM library (PyPI `rlms`).

That library speaks another protocol than rlm.prompts: its system prompt calls the model
a "Recursive Language Model (RLM)", the question arrives as "Answer the following: ...",
and an answer is submitted from code by `answer["content"] = ...; answer["ready"] = True`.
The plan is the same as rlm.sim.policy_rlm's: chunk `context`, ask llm_query_batched,
combine with the task reader's code and print; next turn submit what was printed. On
context_length_exceeded the chunks halve, up to MAX_ATTEMPTS code turns.
"""
from __future__ import annotations

import re

from rlm.prompts import NOT_FOUND
from rlm.sim.combine import first_found_code
from rlm.sim.policy_plain import SUBCALL_INSTRUCTION
from rlm.sim.policy_rlm import _CHUNKER
from rlm.sim.readers import reader_for
from rlm.sim.request import ChatRequest

SYSTEM_MARKERS = ("Recursive Language Model (RLM)", 'answer["ready"]')
QUESTION_PREFIX = "Answer the following: "
FIRST_CHUNK_CHARS = 100_000   # the library tells its model ~100K tokens per sub-call; the sim-small window is smaller
MAX_ATTEMPTS = 4
_HEADER = re.compile(r"# sim-rlms: attempt=(\d+) chunk_chars=(\d+)")
_ANSWER_LINE = re.compile(r"^answer: (.*)$", re.MULTILINE)


def is_official_root(request: ChatRequest) -> bool:
    system = "\n".join(m["content"] for m in request.messages if m["role"] == "system")
    return all(marker in system for marker in SYSTEM_MARKERS)


def _question(request: ChatRequest) -> str:
    for message in request.messages:
        if message["role"] == "user" and message["content"].startswith(QUESTION_PREFIX):
            return message["content"][len(QUESTION_PREFIX):].split("\n\nYour context is", 1)[0].strip()
    return ""


def _code_turn(query: str, attempt: int, chunk_chars: int) -> str:
    reader = reader_for(query)
    combine = reader.combine_code(query) if reader else first_found_code()
    combine_fn = "def _sim_combine(answers):\n" + "".join(f"    {line}\n" for line in combine.splitlines()) \
        + "    return answer\n"
    instruction = repr("\n\n" + SUBCALL_INSTRUCTION + "\n\nText:\n")
    code = (f"# sim-rlms: attempt={attempt} chunk_chars={chunk_chars}\n"
            f"query = {query!r}\nchunk_chars = {chunk_chars}\n" + _CHUNKER
            + f"chunks = _sim_chunks(context, chunk_chars)\n"
            f"replies = llm_query_batched([query + {instruction} + chunk for chunk in chunks])\n"
            + combine_fn + "sim_answer = _sim_combine(replies)\n"
            "for _reply in replies:\n"
            "    if 'context_length_exceeded' in str(_reply) or 'maximum context length' in str(_reply):\n"
            "        print('sim-status: too_long')\n"
            "        break\n"
            "print(f'asked the sub-model about {len(chunks)} chunks')\n"
            "print(f'answer: {sim_answer}')\n")
    return f"The context is large, so I ask the sub-model chunk by chunk and combine the replies.\n```repl\n{code}```"


def official_reply(request: ChatRequest) -> str:
    """The next assistant turn of the official library's root conversation."""
    query = _question(request)
    headers = [h for m in request.messages if m["role"] == "assistant" for h in _HEADER.findall(m["content"])]
    if not headers:
        return _code_turn(query, 1, FIRST_CHUNK_CHARS)
    attempt, chunk_chars = int(headers[-1][0]), int(headers[-1][1])
    outputs = [m["content"] for m in request.messages if m["role"] == "user" and m["content"].startswith("REPL output")]
    last = outputs[-1] if outputs else ""
    if ("sim-status: too_long" in last or "Traceback" in last) and attempt < MAX_ATTEMPTS:
        return _code_turn(query, attempt + 1, max(1, chunk_chars // 2))
    found = _ANSWER_LINE.findall(last)
    value = found[-1].strip() if found else NOT_FOUND
    return ("The combined answer is printed above; submitting it.\n```repl\n"
            f"answer[\"content\"] = {value!r}\nanswer[\"ready\"] = True\n```")
