"""Fixtures for the REPL tests: a small in-process sub-call handler and sandbox factory."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from rlm.repl import Sandbox, SandboxLimits


class EchoHandler:
    """A real handler object that answers without a model and records what it got."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, object]] = []

    def llm_query(self, prompt: str, model: str | None) -> str:
        self.requests.append(("llm_query", prompt))
        if prompt == "boom":
            raise ValueError("handler exploded")
        return f"echo:{prompt}"

    def llm_query_batched(self, prompts: list[str], model: str | None) -> list[str]:
        self.requests.append(("llm_query_batched", list(prompts)))
        return [f"echo:{p}" for p in prompts]

    def rlm_query(self, context: object, query: str) -> str:
        self.requests.append(("rlm_query", query))
        return f"rlm:{query}:{len(context)}"  # type: ignore[arg-type]

    def rlm_query_batched(self, contexts: list, query: str) -> list[str]:
        self.requests.append(("rlm_query_batched", query))
        return [f"rlm:{query}:{c}" for c in contexts]


FAST = SandboxLimits(cell_timeout_s=5.0)


@pytest.fixture
def handler() -> EchoHandler:
    return EchoHandler()


@pytest.fixture
def sandbox(handler: EchoHandler) -> Iterator[Sandbox]:
    with Sandbox("hello world", handler, FAST) as sb:
        yield sb
