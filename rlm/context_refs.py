"""Trajectory texts without anything in them twice.

Sub-call prompts are mostly slices of the context (a chunk plus a question), and the baseline's
prompt is the whole context: stored verbatim they are nearly all of a run's texts (the main job:
32 MB of a 33 MB trajectory). The context is reproducible from the task (seeded, cached), so a
long slice of it is stored as a reference, `⟦context[start:end]⟧`, and the rest of the text as is.
Likewise a root turn's messages carry the previous cells' outputs, stored already as each cell's
`output`: in a message's content they are `⟦output:<exec_id>⟧`. `resolve` puts both back (on a
message's content, not on the JSON list of messages).
"""
from __future__ import annotations

import re
from typing import Iterator

MIN_SLICE = 1_000    # shorter matches are kept as text (a reference would save little)
_PROBE = 128         # characters looked up in the context at a time
_STEP = MIN_SLICE - _PROBE  # probe positions: any slice of MIN_SLICE characters contains one whole probe
_TRIES = 4           # occurrences of one probe tried (repetitive text) before moving on

OPEN, CLOSE = "\u27e6", "\u27e7"  # ⟦ ⟧: not produced by the tasks' generators nor, in practice, by models
REFERENCE = re.compile(OPEN + r"context\[(\d+):(\d+)\]" + CLOSE)
OUTPUT_REFERENCE = re.compile(OPEN + r"output:(\w+)" + CLOSE)
MIN_OUTPUT = 200     # shorter cell outputs are kept in the messages as they are


def reference(start: int, end: int) -> str:
    return f"{OPEN}context[{start}:{end}]{CLOSE}"


def output_reference(exec_id: str) -> str:
    return f"{OPEN}output:{exec_id}{CLOSE}"


def with_output_references(text: str, outputs: dict[str, str]) -> str:
    """`text` (a message) with each stored cell output in it (`outputs`: text -> exec_id) replaced by
    its reference; a text holding the brackets already is left alone."""
    if OPEN in text or len(text) < MIN_OUTPUT:
        return text
    for output, exec_id in outputs.items():
        if output in text:
            text = text.replace(output, output_reference(exec_id), 1)
    return text


def _forward(a: str, i: int, b: str, j: int) -> int:
    """How many characters a[i:] and b[j:] have in common at their start (block compares, no char loop)."""
    n, block = 0, 4096
    while True:
        m = min(block, len(a) - i - n, len(b) - j - n)
        if m <= 0:
            return n
        if a[i + n:i + n + m] == b[j + n:j + n + m]:
            n += m
            block = min(block * 2, 1 << 20)
            continue
        lo, hi = 0, m - 1  # the first m characters differ somewhere: binary search the common prefix
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if a[i + n:i + n + mid] == b[j + n:j + n + mid]:
                lo = mid
            else:
                hi = mid - 1
        return n + lo


def _backward(a: str, i: int, b: str, j: int, limit: int) -> int:
    """How many characters before a[i] and b[j] are equal (at most `limit`)."""
    lo, hi = 0, min(limit, i, j)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[i - mid:i] == b[j - mid:j]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def with_references(text: str, context: str | None) -> str:
    """`text` with every slice of `context` of at least MIN_SLICE characters replaced by its reference.

    Texts holding the reference brackets already are left alone, so `resolve` is always exact.
    """
    if not context or len(context) < MIN_SLICE or len(text) < MIN_SLICE or OPEN in text:
        return text
    parts: list[str] = []
    done = 0  # text[:done] is in parts
    i = 0
    while i + _PROBE <= len(text):
        probe = text[i:i + _PROBE]
        j, found = context.find(probe), None
        for _ in range(_TRIES):
            if j < 0:
                break
            after = _PROBE + _forward(text, i + _PROBE, context, j + _PROBE)
            before = _backward(text, i, context, j, i - done)
            if before + after >= MIN_SLICE:
                found = (i - before, j - before, before + after)
                break
            j = context.find(probe, j + 1)
        if found is None:
            i += _STEP
            continue
        at, start, length = found
        parts += [text[done:at], reference(start, start + length)]
        done = i = at + length
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def spans(text: str) -> Iterator[tuple[str, tuple[int, int] | None]]:
    """The text in pieces: (plain text, None) and (the reference's text, (start, end))."""
    pos = 0
    for match in REFERENCE.finditer(text):
        if match.start() > pos:
            yield text[pos:match.start()], None
        yield match.group(0), (int(match.group(1)), int(match.group(2)))
        pos = match.end()
    if pos < len(text):
        yield text[pos:], None


def resolve(text: str, context: str, outputs: dict[str, str] | None = None) -> str:
    """The text as it was sent: every reference replaced by its slice of `context`, or by the cell's
    output (`outputs`: exec_id -> output)."""
    if outputs:
        text = OUTPUT_REFERENCE.sub(lambda m: outputs[m.group(1)], text)
    return REFERENCE.sub(lambda m: context[int(m.group(1)):int(m.group(2))], text)
