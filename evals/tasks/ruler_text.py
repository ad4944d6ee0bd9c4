"""RULER's prompt text (scripts/data/synthetic/constants.py) and its haystacks.

Templates are split at `{context}` into the text before and after it; the answer prefix
(what the model continues) is part of the text after. Haystacks: `noise` (RULER's repeated
sentence group, one per line), `needle` (every line a distractor needle) and `essay` (the
words of a text file, needles at sentence boundaries on 40 evenly spaced depths).
"""
from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path

from evals.tasks.sample import TaskError

NOISE = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
NEEDLE = "One of the special magic {type_needle_v} for {key} is: {value}."
# np.round(np.linspace(0, 100, 40)) as integers, RULER's needle depths in an essay.
DEPTHS = [round(i * 100 / 39) for i in range(40)]

NIAH = ("Some special magic {type_needle_v} are hidden within the following text. Make sure to memorize it. "
        "I will quiz you about the {type_needle_v} afterwards.\n{context}\nWhat are all the special magic "
        "{type_needle_v} for {query} mentioned in the provided text?",
        " The special magic {type_needle_v} for {query} mentioned in the provided text are")
VT = ("Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n{context}\n"
      "Question: Find all variables that are assigned the value {query} in the text above.",
      " Answer: According to the chain(s) of variable assignment in the text above, {num_v} variables are assigned "
      "the value {query}, they are: ")
CWE = ("Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones "
       "that appear most often.\n{context}\nQuestion: What are the {num_cw} most common words in the above list?",
       " Answer: The top {num_cw} words that appear most often in the list are:")
FWE = ("Read the following coded text and track the frequency of each coded word. Find the three most frequently "
       "appeared coded words. {context}\nQuestion: Do not provide any explanation. Please ignore the dots '....'. "
       "What are the three most frequently appeared words in the above coded text?",
       " Answer: According to the coded text above, the three most frequently appeared words are:")
# tokens_to_generate per task.
OUTPUT_TOKENS = {"niah": 128, "vt": 30, "cwe": 120, "fwe": 50, "qa": 32}


def split_template(template: str, answer_prefix: str, **values: object) -> tuple[str, str, str]:
    """(text before the context, text after it, the question alone) with `values` filled in."""
    before, after = template.split("{context}")
    question = after.strip().removeprefix("Question:").strip()
    return before.format(**values), (after + answer_prefix).format(**values), question.format(**values)


def singular(template: str, answer_prefix: str) -> tuple[str, str]:
    """RULER's rewording for one key with one value: 'Some' -> 'A', 'are' -> 'is' and so on."""
    def fix(text: str) -> str:
        for old, new in (("Some", "A"), ("are all", "is"), ("are", "is"), ("answers", "answer")):
            text = text.replace(old, new)
        return text
    return fix(template), fix(answer_prefix)


def join_queries(keys: list[str]) -> str:
    """RULER's list of queried keys: "a", "a, and b", "a, b, and c"."""
    return keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + ", and " + keys[-1]


@lru_cache(maxsize=4)
def essay_words(path: str) -> tuple[str, ...]:
    """The words of an essay file, whitespace collapsed (RULER: re.sub(r'\\s+', ' ', text).split(' '))."""
    file = Path(path)
    if not file.is_file():
        raise TaskError(f"haystack_file {path} does not exist (the essay haystack needs a text file)")
    words = tuple(re.sub(r"\s+", " ", file.read_text(encoding="utf-8", errors="replace")).strip().split(" "))
    if len(words) < 100:
        raise TaskError(f"haystack_file {path} has {len(words)} words; an essay haystack needs at least 100")
    return words


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def essay_with_inserts(words: tuple[str, ...], n: int, inserts: list[str], rng: random.Random) -> str:
    """The first n essay words (repeated if needed) with `inserts` at sentence boundaries on
    RULER's 40 depths."""
    repeats = -(-n // len(words))
    text = " ".join((words * repeats)[:n]) if repeats > 1 else " ".join(words[:n])
    sentences = _SENTENCE_END.split(text.strip())
    depths = rng.sample(DEPTHS, len(inserts)) if len(inserts) <= len(DEPTHS) else \
        [rng.choice(DEPTHS) for _ in inserts]
    positions = [0] + sorted(int(len(sentences) * d / 100) for d in depths) + [len(sentences)]
    parts: list[str] = []
    for i in range(1, len(positions)):
        parts.append(" ".join(sentences[positions[i - 1]:positions[i]]))
        if i - 1 < len(inserts):
            parts.append(inserts[i - 1])
    return " ".join(parts)


def lines_with_inserts(lines: list[str], inserts: list[str], rng: random.Random,
                       depths: list[float] | None = None) -> str:
    """Haystack lines with `inserts` at random lines (or at `depths` percent), joined by newlines."""
    n = len(lines)
    if depths is None:
        indexes = sorted(rng.sample(range(n), len(inserts)) if len(inserts) <= n else
                         [rng.randrange(n + 1) for _ in inserts], reverse=True)
    else:
        indexes = sorted((min(n, int(n * d / 100)) for d in depths), reverse=True)
    out = list(lines)
    for index, element in zip(indexes, inserts):
        out.insert(index, element)
    return "\n".join(out)
