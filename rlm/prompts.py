"""The prompts of the RLM protocol.

The root model sees a system prompt describing its REPL, then the query. The lines
marked "(protocol line)" have a fixed wording: the simulator (rlm.sim) reads them the
way a real model reads the prose, so change them only together with rlm/sim.
"""
from __future__ import annotations

# (protocol line) present in every RLM root system prompt.
REPL_MARKER = "REPL environment"
# (protocol line) "Sub-model context window: 65536 tokens" when sub-calls exist (depth >= 1).
SUB_WINDOW_LINE = "Sub-model context window: {tokens} tokens"
# (protocol line) present when rlm_query / rlm_query_batched exist (depth >= 2).
RLM_QUERY_LINE = "Sub-RLM calls: rlm_query(context, query) and rlm_query_batched(contexts, query) run a child RLM with its own REPL"
# (protocol line) present at depth 0.
NO_SUBCALLS_LINE = "No sub-model calls are available: analyse the context with code alone."
# (protocol line) the first user message starts with this, followed by the query.
QUERY_PREFIX = "Query: "
# (protocol line) each REPL cell's output comes back in a user message starting with this.
OUTPUT_PREFIX = "REPL output"
# (protocol line) a failed sub-call returns a string starting with this.
SUBCALL_ERROR_PREFIX = "Error: "
# (protocol line) shown after a cell timeout killed the worker.
STATE_LOST_NOTE = "[The REPL worker was restarted: all variables were lost; `context` was reloaded.]"
# (protocol line) a plain sub-model replies exactly this when the text does not hold the answer.
NOT_FOUND = "NOT FOUND"

_SYSTEM = """You are tasked with answering a query about a context that may be far larger than your own context window. You can access, transform and analyse the context interactively in a REPL environment, and query sub-models from inside it. You will be called iteratively until you give a final answer.

The REPL environment is initialised with:
1. `context`: {context_desc}. Do not print it whole; look at slices.
2. `print(...)`: output is shown to you, truncated to {max_output_chars} characters.
{subcall_lines}
Variables persist across cells. Each cell has a {cell_timeout:g} s time limit.

Write code inside ```repl fences; every fenced block runs, in order. A sub-model answers exactly "{not_found}" when the text it was given does not hold the answer.
When you know the answer, write it on its own line outside any code block, as either
FINAL(your answer)
or
FINAL_VAR(variable_name)
to return a REPL variable, or in a cell set answer["content"] then answer["ready"] = True. Verify the answer first."""

_SUBCALLS = """3. `llm_query(prompt)`: asks a sub-model and returns its reply as a string. {sub_window_line}; keep each prompt well under that (about {sub_chars} characters of English text).
4. `llm_query_batched(prompts)`: asks about many prompts concurrently and returns the replies in order; a failed item returns a string starting with "{error_prefix}"."""

_FINAL_NUDGE = ("You have run out of iterations. Using what you have learned so far, give your best final "
                "answer now, on its own line, as FINAL(your answer).")


def describe_context(context: object) -> str:
    """A one-line description of the context's type and size, as the model sees it."""
    if isinstance(context, str):
        return f"a str of {len(context):,} characters"
    if isinstance(context, list):
        total = sum(len(str(item)) for item in context)
        return f"a list of {len(context):,} items, {total:,} characters in all"
    if isinstance(context, dict):
        total = sum(len(str(k)) + len(str(v)) for k, v in context.items())
        return f"a dict with {len(context):,} keys, {total:,} characters in all"
    return f"a {type(context).__name__}"


def system_prompt(context: object, *, depth: int, sub_window_tokens: int | None,
                  max_output_chars: int, cell_timeout_s: float) -> str:
    """The root system prompt for an RLM at `depth` (0 = no sub-calls)."""
    if depth <= 0 or sub_window_tokens is None:
        subcall_lines = NO_SUBCALLS_LINE
    else:
        subcall_lines = _SUBCALLS.format(
            sub_window_line=SUB_WINDOW_LINE.format(tokens=sub_window_tokens),
            sub_chars=sub_window_tokens * 3,
            error_prefix=SUBCALL_ERROR_PREFIX,
        )
        if depth >= 2:
            subcall_lines += "\n5. " + RLM_QUERY_LINE + "; use them for pieces too large for one sub-model call."
    return _SYSTEM.format(context_desc=describe_context(context), max_output_chars=max_output_chars,
                          subcall_lines=subcall_lines, cell_timeout=cell_timeout_s, not_found=NOT_FOUND)


def query_message(query: str) -> str:
    return QUERY_PREFIX + query


def output_message(cell_outputs: list[str]) -> str:
    """One user message carrying the outputs of every cell of an iteration."""
    parts = [f"{OUTPUT_PREFIX} (cell {i + 1}):\n{out}" for i, out in enumerate(cell_outputs)]
    return "\n\n".join(parts)


def no_code_message() -> str:
    return ("Your reply held neither a ```repl code block nor a FINAL(...) / FINAL_VAR(...) line. "
            "Continue with code, or give the final answer.")


def missing_var_message(name: str) -> str:
    return (f"FINAL_VAR error: variable `{name}` is not defined in the REPL. "
            "Define it in a ```repl block first, or answer with FINAL(...).")


def final_nudge() -> str:
    return _FINAL_NUDGE
