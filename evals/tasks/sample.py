"""The record every task produces, and the one error bad task input raises."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any


class TaskError(ValueError):
    """Bad task name, params, size or dataset; the message is one line saying what to fix."""


def context_as_text(context: str | list | dict) -> str:
    """The context as one prompt text, for a plain model."""
    if isinstance(context, str):
        return context
    if isinstance(context, list):
        return "\n\n".join(str(item) for item in context)
    return json.dumps(context, ensure_ascii=False, indent=1)


@dataclass
class Sample:
    """One question over one context, with its references and how to score it.

    `sample_id` is stable across runs (task, variant, size, seed, index), so methods and
    repeated runs can be joined on it. The RLM gets `context` and `query`; a plain model
    gets `baseline_prompt()`: the benchmark's own input (`prompt_before` + context +
    `prompt_after`) when the task defines one, cut in the middle to `prompt_budget`
    tokens when it has one (LongBench-v2), and answers in at most `max_output_tokens`.
    """

    sample_id: str
    task: str
    family: str
    context: str | list | dict
    query: str
    expected: list[str]
    metric: str
    size_tokens: int
    metadata: dict[str, Any] = field(default_factory=dict)
    # The benchmark's own input around the context; None = the harness's generic prompt.
    prompt_before: str | None = None
    prompt_after: str | None = None
    # The benchmark's output budget (RULER's tokens_to_generate, LongBench-v2's 128).
    max_output_tokens: int | None = None
    # Tokens the plain model's prompt is cut to, keeping its head and tail (LongBench-v2).
    prompt_budget: int | None = None
    # Keyword arguments of the metric (OOLONG's answer type, BABILong's question and task).
    metric_args: dict[str, Any] = field(default_factory=dict)
    # The dataset's name for tables ("oolong-synth", "longbench-v2", "ruler"...).
    dataset: str | None = None

    def context_text(self) -> str:
        return context_as_text(self.context)

    def baseline_prompt(self) -> str:
        """The whole prompt a plain model gets for this sample."""
        if self.prompt_before is None and self.prompt_after is None:
            prompt = f"{self.context_text()}\n\nQuestion: {self.query}\nAnswer:"
        else:
            prompt = f"{self.prompt_before or ''}{self.context_text()}{self.prompt_after or ''}"
        if self.prompt_budget is not None:
            from evals.tasks.tokenizers import get_tokenizer

            prompt = get_tokenizer(self.metadata.get("tokenizer")).cut_middle(prompt, self.prompt_budget)
        return prompt

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Sample":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
