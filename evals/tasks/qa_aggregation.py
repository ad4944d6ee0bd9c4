"""OOLONG-like aggregation: count the documents carrying one label.

Every document is a labelled item, so the answer depends on the whole context (work
linear in its length); the reply is parsed as OOLONG parses it and scored with OOLONG's
0.75 ** |error| partial credit.
"""
from __future__ import annotations

import random
from typing import Any

from evals.tasks import qa_docs
from evals.tasks.base import Draft, TaskGenerator, choice_param

# OOLONG's answer format, so replies are parsed as OOLONG parses them (evals.scoring.oolong).
QUERY = "How many documents have the label {label}? Give your final answer in the form 'Answer: number'."
# OOLONG's trec_coarse label set.
LABELS = ("abbreviation", "entity", "description", "human", "location", "numeric value")
TOPICS = ("the harvest festival", "a broken fence", "the river crossing", "a late train", "the new library",
          "a lost umbrella", "the town council", "a summer storm", "the old bakery", "a chess match",
          "the bridge repairs", "a school concert")


class QAAggregationTask(TaskGenerator):
    name = "qa_aggregation"
    family = "qa_aggregation"
    metric = "numeric_partial"
    version = 2
    defaults = {"label": None}

    def validate(self, params: dict[str, Any]) -> None:
        if params["label"] is not None:
            choice_param(self.name, params, "label", LABELS)

    def variant(self, params: dict[str, Any]) -> str:
        return (params["label"] or "any").replace(" ", "_")

    def min_size(self, params: dict[str, Any]) -> int:
        return 128

    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any],
                 index: int = 0) -> Draft:
        label = params["label"] or rng.choice(LABELS)
        weights = [rng.uniform(0.5, 2.0) for _ in LABELS]  # a different label mix per sample
        names = qa_docs.Names(rng)

        def item(r: random.Random) -> str:
            # Label first: a document cut to fit keeps its label.
            return f"Label: {r.choices(LABELS, weights)[0]}. {names()} wrote a note about {r.choice(TOPICS)}."

        docs, used, _ = qa_docs.build(rng, size_tokens, [], item)
        count = sum(f": Label: {label}." in doc for doc in docs)
        return Draft(context=docs, query=QUERY.format(label=label), expected=[str(count)], actual_tokens=used,
                     metadata={"num_documents": len(docs), "label": label})


TASK = QAAggregationTask()
