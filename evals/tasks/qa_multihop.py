"""Long-context QA, two hops: a person's employer in one document, the employer's
headquarters city in another."""
from __future__ import annotations

import random
from typing import Any

from evals.tasks import qa_docs
from evals.tasks.base import Draft, TaskGenerator, depth_param
from evals.tasks.words import pseudo_word

QUERY = "What is the headquarters city of the employer of {name}?"
SUFFIXES = ("Systems", "Labs", "Foods", "Textiles", "Logistics", "Works", "Holdings", "Studios")


def _company(rng: random.Random, seen: set[str]) -> str:
    while True:
        name = f"{pseudo_word(rng, 3).capitalize()} {rng.choice(SUFFIXES)}"
        if name not in seen:
            seen.add(name)
            return name


def _company_body(rng: random.Random, company: str) -> str:
    return (f"The headquarters city of {company} is {rng.choice(qa_docs.CITIES)}. "
            f"{company} was founded {rng.randint(3, 90)} years ago. {company} employs {rng.randint(5, 900)} people.")


class QAMultihopTask(TaskGenerator):
    name = "qa_multihop"
    family = "qa_retrieval"
    metric = "string_match_part"
    defaults = {"depth_percent": None}

    def validate(self, params: dict[str, Any]) -> None:
        depth_param(self.name, params)

    def min_size(self, params: dict[str, Any]) -> int:
        return 192

    def generate(self, rng: random.Random, size_tokens: int, params: dict[str, Any],
                 index: int = 0) -> Draft:
        names, companies = qa_docs.Names(rng), set()
        target, employer = names(), _company(rng, companies)
        person = qa_docs.person_facts(rng, target) + [f"The employer of {target} is {employer}."]
        company = _company_body(rng, employer)
        answer = company.split(" is ", 1)[1].split(".", 1)[0]

        def filler(r: random.Random) -> str:
            if r.random() < 0.5:
                return _company_body(r, _company(r, companies))
            facts = qa_docs.person_facts(r, (n := names()), extra=r.randint(1, 3))
            return " ".join(facts + [f"The employer of {n} is {_company(r, companies)}."])

        depths = qa_docs.key_depths(rng, 2, params["depth_percent"])
        docs, used, actual = qa_docs.build(rng, size_tokens, [(depths[0], " ".join(person)), (depths[1], company)],
                                           filler)
        return Draft(context=docs, query=QUERY.format(name=target), expected=[answer], actual_tokens=used,
                     metadata={"depth_percent": actual, "employer": employer, "num_documents": len(docs)})


TASK = QAMultihopTask()
