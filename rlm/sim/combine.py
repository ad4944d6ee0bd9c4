"""REPL-side source snippets shared by readers to combine per-chunk replies.

The snippets run inside the RLM's REPL, so they are self-contained source with
no imports: they read `answers` (one reply per chunk; NOT FOUND and "Error: "
items are skipped) and set `answer`.
"""
from __future__ import annotations

from rlm.prompts import NOT_FOUND, SUBCALL_ERROR_PREFIX

_UNION = '''_found = []
for _reply in answers:
    _reply = str(_reply).strip()
    if not _reply or _reply == {nf!r} or _reply.startswith({err!r}):
        continue
    for _value in {split}:
        _value = _value.strip().rstrip(".").strip()
        if _value and _value != {nf!r} and _value not in _found:
            _found.append(_value)
answer = ", ".join(_found) if _found else {nf!r}
'''

_FIRST = '''answer = {nf!r}
for _reply in answers:
    _reply = str(_reply).strip()
    if _reply and _reply != {nf!r} and not _reply.startswith({err!r}):
        answer = _reply
        break
'''


def union_code() -> str:
    """Union of the comma-separated values of every reply, in order of first sight."""
    return _UNION.format(nf=NOT_FOUND, err=SUBCALL_ERROR_PREFIX, split='_reply.split(",")')


def union_digits_code() -> str:
    """Union of every run of digits in the replies (tolerates prose around numbers)."""
    split = '"".join(_c if _c.isdigit() else " " for _c in _reply).split()'
    return _UNION.format(nf=NOT_FOUND, err=SUBCALL_ERROR_PREFIX, split=split)


def first_found_code() -> str:
    """The first reply that is neither NOT FOUND nor an error (for unknown families)."""
    return _FIRST.format(nf=NOT_FOUND, err=SUBCALL_ERROR_PREFIX)


# Flattens `context` (str, list or dict) to one string inside the REPL.
CONTEXT_TEXT = ('_text = context if isinstance(context, str) else "\\n".join(str(_x) for _x in '
                '(context.values() if isinstance(context, dict) else context))\n')
