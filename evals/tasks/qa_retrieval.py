"""Long-context QA, retrieval: one document about the asked-for person holds the answer."""
from __future__ import annotations

import random
from typing import Any

from evals.tasks import qa_docs
from evals.tasks.base import Draft, TaskGenerator, choice_param, depth_param

QUERY = "What is the {attribute} of {name}?"


class QARetrievalTask(TaskGenerator):
    name = "qa_retrieval"
    family = "qa_retrieval"
    metric = "string_match_part"
    defaults = {"attribute": None, "depth_percent": None}

    def validate(self, params: dict[str, Any]) -> None:
        if params["attribute"] is not None:
            choice_param(self.name, params, "attribute", tuple(qa_docs.ATTRIBUTES))
        depth_param(self.name, params)

    def variant(self, params: dict[str, Any]) -> str:
        return (params["attribute"] or "any").replace(" ", "_")

    def min_size(self, params: dict[str, Any]) -> int:
        return 128

    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any],
                 index: int = 0) -> Draft:
        names = qa_docs.Names(rng)
        target = names()
        facts = qa_docs.person_facts(rng, target)
        attribute = params["attribute"] or rng.choice(list(qa_docs.ATTRIBUTES))
        (answer,) = [f.split(" is ", 1)[1].rstrip(".") for f in facts if f.startswith(f"The {attribute} of ")]
        (depth,) = qa_docs.key_depths(rng, 1, params["depth_percent"])
        docs, used, depths = qa_docs.build(
            rng, size_tokens, [(depth, " ".join(facts))],
            lambda r: " ".join(qa_docs.person_facts(r, names(), extra=r.randint(1, 4))))
        return Draft(context=docs, query=QUERY.format(attribute=attribute, name=target), expected=[answer],
                     actual_tokens=used, metadata={"depth_percent": depths[0], "num_documents": len(docs)})


TASK = QARetrievalTask()
