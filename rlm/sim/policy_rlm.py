"""The auto policy for RLM root prompts: probe, chunk and fan out, check, answer.

The server is stateless, so each turn is decided from the conversation alone:
the system prompt's protocol lines give the depth and the sub-model's window,
our own earlier code carries a `# sim-rlm:` header (phase, attempt, chunk size),
and the last REPL output says whether that code worked. The turns follow the shape
of real RLM trajectories, so a root conversation grows as real ones do (past the
1,024-token prefix-caching threshold from its third turn on):

- first a probe: print the context's type, length and a sample of its head and tail;
- depth >= 1: code that chunks `context` to ~50% of the sub-window (at ~3.5
  characters per token, conservative for English), asks llm_query_batched,
  combines with the reader's combine_code; next turn `FINAL_VAR(answer)`. On
  context_length_exceeded the chunks halve; other failures retry, up to
  MAX_ATTEMPTS code turns, then FINAL(NOT FOUND).
- depth >= 2: large contexts go to rlm_query_batched in a few pieces instead.
- after a successful fan-out, a check turn prints how many chunks found something
  and what they said, then `FINAL_VAR(answer)`;
- depth 0: the reader's grep_code prints candidate lines; next turn answers
  with FINAL(...) from the printed output.
"""
from __future__ import annotations

import re
from string import Template

from rlm import prompts
from rlm.sim.combine import first_found_code
from rlm.sim.policy_plain import SUBCALL_INSTRUCTION
from rlm.sim.readers import Reader, reader_for
from rlm.sim.request import ChatRequest

MAX_ATTEMPTS = 4
CHARS_PER_TOKEN = 3.5
WINDOW_SHARE = 0.5
PIECES = 4
_HEADER = re.compile(r"# sim-rlm: mode=(\w+) attempt=(\d+) chunk_chars=(\d+)")
_WINDOW = re.compile(re.escape(prompts.SUB_WINDOW_LINE).replace(r"\{tokens\}", r"(\d+)"))
_ANSWER_LINE = re.compile(r"^answer: (.*)$", re.MULTILINE)

_CHUNKER = '''def _sim_items(ctx):
    if isinstance(ctx, dict):
        ctx = list(ctx.values())
    if isinstance(ctx, (list, tuple)):
        return [str(item) + "\\n" for item in ctx]
    return str(ctx).splitlines(keepends=True)

def _sim_chunks(ctx, size):
    chunks, parts, used = [], [], 0
    for item in _sim_items(ctx):
        while len(item) > size:
            if parts:
                chunks.append("".join(parts))
                parts, used = [], 0
            chunks.append(item[:size])
            item = item[size:]
        if parts and used + len(item) > size:
            chunks.append("".join(parts))
            parts, used = [], 0
        parts.append(item)
        used += len(item)
    if parts:
        chunks.append("".join(parts))
    return chunks
'''

_ASK_CHUNKS = '''chunks = _sim_chunks(context, chunk_chars)
prompts = [query + $instruction + chunk for chunk in chunks]
answers = llm_query_batched(prompts)
print(f"asked the sub-model about {len(chunks)} chunks of <= {chunk_chars} characters")
'''

_ASK_PIECES = '''_total = sum(len(_item) for _item in _sim_items(context))
if _total <= 2 * chunk_chars:
$ask_chunks
else:
    pieces = _sim_chunks(context, max(chunk_chars, -(-_total // $pieces)))
    answers = rlm_query_batched(pieces, query)
    print(f"asked child RLMs about {len(pieces)} pieces")
'''

SAMPLE_HEAD, SAMPLE_TAIL = 1500, 500
_PROBE = '''print("type:", type(context).__name__)
if isinstance(context, str):
    _sample = context
    print(f"length: {len(context):,} characters, {context.count(chr(10)) + 1:,} lines")
else:
    _items = list(context.values()) if isinstance(context, dict) else list(context)
    _sample = "\\n".join(str(_x) for _x in _items[:40])
    print(f"length: {len(_items):,} items, {sum(len(str(_x)) for _x in _items):,} characters")
print("head:", repr(_sample[:$head]))
print("tail:", repr(_sample[-$tail:]))
'''

_CHECK = '''_useful = [str(_a).strip() for _a in answers
           if str(_a).strip() and str(_a).strip() != $nf and not str(_a).startswith($error_prefix)]
print(f"{len(_useful)} of {len(answers)} sub-calls found something")
for _a in _useful[:5]:
    print("-", _a[:200])
print(f"answer: {answer}")
'''

_REPORT = '''failed = [a for a in answers if str(a).startswith($error_prefix)]
for _failure in failed[:2]:
    print(str(_failure)[:300])
print(f"answer: {answer}")
print("sim-status: " + ("ok" if not failed else f"{len(failed)} of {len(answers)} sub-calls failed"))
'''


def _code_turn(mode: str, attempt: int, chunk_chars: int, query: str, reader: Reader | None) -> str:
    header = f"# sim-rlm: mode={mode} attempt={attempt} chunk_chars={chunk_chars}\n"
    setup = f"query = {query!r}\nchunk_chars = {chunk_chars}\n"
    if mode == "grep":
        body = reader.grep_code(query) if reader else None
        code = header + setup + (body or "print('no way to search this context without sub-calls')\n")
        return f"Searching the context for lines that can hold the answer.\n```repl\n{code}```"
    instruction = repr("\n\n" + SUBCALL_INSTRUCTION + "\n\nText:\n")
    ask = Template(_ASK_CHUNKS).substitute(instruction=instruction)
    if mode == "pieces":
        indented = "".join("    " + line + "\n" for line in ask.splitlines())
        ask = Template(_ASK_PIECES).substitute(ask_chunks=indented.rstrip("\n"), pieces=PIECES)
    combine = reader.combine_code(query) if reader else first_found_code()
    report = Template(_REPORT).substitute(error_prefix=repr(prompts.SUBCALL_ERROR_PREFIX))
    code = header + setup + _CHUNKER + ask + combine + report
    what = "child RLMs over a few large pieces" if mode == "pieces" else "the sub-model chunk by chunk"
    return (f"The context is too large to read at once, so I will ask {what} "
            f"(chunks of up to {chunk_chars:,} characters) and combine the answers.\n```repl\n{code}```")


def _probe_turn(chunk_chars: int) -> str:
    header = f"# sim-rlm: mode=probe attempt=0 chunk_chars={chunk_chars}\n"
    code = header + Template(_PROBE).substitute(head=SAMPLE_HEAD, tail=SAMPLE_TAIL)
    return f"First I look at what the context is: its type, its size and a sample of it.\n```repl\n{code}```"


def _check_turn(attempt: int, chunk_chars: int) -> str:
    header = f"# sim-rlm: mode=check attempt={attempt} chunk_chars={chunk_chars}\n"
    code = header + Template(_CHECK).substitute(nf=repr(prompts.NOT_FOUND),
                                                error_prefix=repr(prompts.SUBCALL_ERROR_PREFIX))
    return f"Before answering I check which sub-calls found something and what the combined answer is.\n```repl\n{code}```"


def _final(text: str) -> str:
    return f"FINAL({text})"


def _last_answer_line(outputs: list[str]) -> str | None:
    for output in reversed(outputs):
        found = _ANSWER_LINE.findall(output)
        if found:
            return found[-1].strip()
    return None


def _outcome(output: str) -> str:
    if prompts.STATE_LOST_NOTE in output or "is not defined" in output:
        return "lost"
    if ("ContextLengthExceededError" in output or "context_length_exceeded" in output
            or "maximum context length" in output):
        return "too_long"
    if "Traceback" in output or "sim-status: ok" not in output:
        return "error"
    return "ok"


def rlm_reply(request: ChatRequest) -> str:
    """The next assistant turn of an RLM root conversation."""
    system = "\n".join(m["content"] for m in request.messages if m["role"] == "system")
    users = [m["content"] for m in request.messages if m["role"] == "user"]
    query = next((u[len(prompts.QUERY_PREFIX):].strip() for u in users if u.startswith(prompts.QUERY_PREFIX)), "")
    reader = reader_for(query)
    window = _WINDOW.search(system)
    if prompts.NO_SUBCALLS_LINE in system or window is None:
        mode, chunk_chars = "grep", 0
    else:
        mode = "pieces" if prompts.RLM_QUERY_LINE in system else "chunks"
        chunk_chars = int(int(window.group(1)) * WINDOW_SHARE * CHARS_PER_TOKEN)

    headers = [h for m in request.messages if m["role"] == "assistant" for h in _HEADER.findall(m["content"])]
    if not headers:
        return _probe_turn(chunk_chars)
    phase, attempt_text, size_text = headers[-1]
    attempt, chunk_chars = int(attempt_text), int(size_text)
    last = request.messages[-1]["content"] if request.messages[-1]["role"] == "user" else ""
    outputs = [u for u in users if u.startswith(prompts.OUTPUT_PREFIX)]

    if not last.startswith(prompts.OUTPUT_PREFIX) and not last.startswith("FINAL_VAR error"):
        # A nudge (out of iterations, no code seen): answer with what was printed.
        if mode == "grep":
            return _final(reader.answer(query, "\n".join(outputs)) if reader else prompts.NOT_FOUND)
        return _final(_last_answer_line(outputs) or prompts.NOT_FOUND)
    if phase == "probe":
        return _code_turn(mode, 1, chunk_chars, query, reader)
    if phase == "check":
        if _outcome(last) == "lost":   # the REPL lost `answer`: fall back to the printed one
            return _final(_last_answer_line(outputs[:-1]) or prompts.NOT_FOUND)
        return "The check agrees with the combined answer in `answer`.\nFINAL_VAR(answer)"
    if mode == "grep":
        if _outcome(last) == "lost" and attempt < MAX_ATTEMPTS:
            return _code_turn(mode, attempt + 1, chunk_chars, query, reader)
        answer = reader.answer(query, last) if reader else prompts.NOT_FOUND
        return f"The search printed the candidate lines.\n{_final(answer)}"
    outcome = _outcome(last)
    if outcome == "ok":
        return _check_turn(attempt, chunk_chars)
    if attempt >= MAX_ATTEMPTS:
        return f"The sub-calls kept failing, so I cannot verify an answer.\n{_final(prompts.NOT_FOUND)}"
    if outcome == "too_long":
        chunk_chars = max(1, chunk_chars // 2)
    return _code_turn(mode, attempt + 1, chunk_chars, query, reader)
