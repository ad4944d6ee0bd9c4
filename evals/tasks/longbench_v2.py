"""LongBench-v2 as its authors run it (THUDM/LongBench, pred.py with prompts/0shot.txt).

The plain model gets the 0-shot template with the document, question and four choices, cut
in the middle to the size (first and last halves of the token budget kept; the output
budget of 128 tokens is set aside) and answers "The correct answer is (X)". Every row is
kept; the ones whose prompt is cut are counted. The dataset's own buckets are its `length`
(short / medium / long) and `difficulty` (easy / hard) labels: params of the same names
select them, and each sample carries both for the report's breakdown.
"""
from __future__ import annotations

from typing import Any

from evals.tasks.base import Draft, choice_param
from evals.tasks.dataset_task import COMMON_DEFAULTS, DatasetTask, field_value
from evals.tasks.sample import TaskError
from evals.tasks.sizes import format_size
from evals.tasks.tokenizers import get_tokenizer

BEFORE_DOC = "Please read the following text and answer the question below.\n\n<text>\n"
AFTER_DOC = ("\n</text>\n\nWhat is the correct answer to this question: {q}\nChoices:\n(A) {a}\n(B) {b}\n(C) {c}\n"
             "(D) {d}\n\nFormat your response as follows: \"The correct answer is (insert answer here)\".")
OUTPUT_TOKENS = 128  # pred.py's max_new_tokens without chain of thought
BREAKDOWN = ("length", "difficulty")


class LongBenchV2Task(DatasetTask):
    name = "longbench_v2"
    family = "longbench_v2"
    metric = "longbench_v2"
    dataset_label = "longbench-v2"
    measured_buckets = False
    defaults = {**COMMON_DEFAULTS, "path": "THUDM/LongBench-v2", "split": "train", "label": None,
                "length": None, "difficulty": None, "domain": None}
    # Metadata keys the report splits results by.
    breakdown_keys = BREAKDOWN

    def validate(self, params: dict[str, Any]) -> None:
        super().validate(params)
        if params["length"] is not None:
            choice_param(self.name, params, "length", ("short", "medium", "long"))
        if params["difficulty"] is not None:
            choice_param(self.name, params, "difficulty", ("easy", "hard"))

    def variant(self, params: dict[str, Any]) -> str:
        return "-".join(str(params[k]) for k in ("length", "difficulty", "domain") if params[k]) or "all"

    def row_filter(self, row: dict, params: dict[str, Any]) -> str | None:
        for key in ("length", "difficulty", "domain"):
            if params[key] is not None and row.get(key) != params[key]:
                return f"other {key}"
        return None

    def bucket(self, row: dict, draft: Draft | None, size_tokens: int, params: dict[str, Any]) -> str | None:
        return None  # every row is kept; the size is the prompt's budget

    def bucket_name(self, size_tokens: int, params: dict[str, Any]) -> str:
        return f"all rows, prompts cut to {format_size(size_tokens)}"

    def budget(self, size_tokens: int) -> int:
        if size_tokens <= OUTPUT_TOKENS + 64:
            raise TaskError(f"task 'longbench_v2': size {size_tokens} leaves no room for a prompt "
                            f"after the {OUTPUT_TOKENS}-token answer")
        return size_tokens - OUTPUT_TOKENS

    def min_size(self, params: dict[str, Any]) -> int:
        return OUTPUT_TOKENS + 65

    def draft(self, row: dict, params: dict[str, Any], where: str, size_tokens: int) -> Draft:
        parts = {k: field_value(row, k, where) for k in ("context", "question", "choice_A", "choice_B", "choice_C",
                                                          "choice_D", "answer")}
        if not all(isinstance(v, str) for v in parts.values()):
            raise TaskError(f"{where}: context, question, choices and answer must be strings")
        if parts["answer"].strip() not in ("A", "B", "C", "D"):
            raise TaskError(f"{where}: answer {parts['answer']!r} is not one of A, B, C, D")
        after = AFTER_DOC.format(q=parts["question"].strip(), a=parts["choice_A"].strip(),
                                 b=parts["choice_B"].strip(), c=parts["choice_C"].strip(),
                                 d=parts["choice_D"].strip())
        context = parts["context"].strip()
        budget = self.budget(size_tokens)
        tokens = get_tokenizer(params["tokenizer"]).count(BEFORE_DOC + context + after)
        query = after.split("\n\n", 2)[-1]  # the question, choices and answer format, without the </text> tag
        return Draft(context=context, query=query, expected=[parts["answer"].strip()], actual_tokens=tokens,
                     prompt_before=BEFORE_DOC, prompt_after=after, max_output_tokens=OUTPUT_TOKENS,
                     prompt_budget=budget,
                     metadata={"length": row.get("length", ""), "difficulty": row.get("difficulty", ""),
                               "domain": row.get("domain", ""), "prompt_tokens": tokens,
                               "cut_tokens": max(0, tokens - budget), "id": row.get("_id", "")})

    def is_cut(self, draft: Draft, params: dict[str, Any]) -> bool:
        return draft.metadata["cut_tokens"] > 0


TASK = LongBenchV2Task()
