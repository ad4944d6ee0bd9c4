"""What an RLM completion returns: the answer, why it stopped, usage, the trajectory."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rlm.errors import RLMError
from rlm.lm import Message
from rlm.parsing import FinalAnswer
from rlm.repl import CellResult
from rlm.usage import UsageBreakdown

StopReason = Literal["final", "final_var", "answer_ready", "max_iterations", "max_tokens", "max_cost",
                     "max_wall_time", "error"]
ANSWERED: frozenset[str] = frozenset({"final", "final_var", "answer_ready"})


@dataclass
class Cell:
    """One executed ```repl block and the output the model was shown."""

    code: str
    output: str
    result: CellResult
    exec_id: str = ""


@dataclass
class Iteration:
    """One root-model turn: its reply, the cells it ran, the answer it gave if any."""

    index: int
    call_id: str
    response: str
    cells: list[Cell] = field(default_factory=list)
    final: FinalAnswer | None = None


@dataclass
class RLMResult:
    """What `completion()` returns. `usage` counts every call at every depth.

    `str(result)` is the answer, as the seed's `completion()` returned it.
    """

    answer: str
    stop_reason: StopReason
    iterations: int
    usage: UsageBreakdown
    trajectory: list[Iteration]
    messages: list[Message]
    elapsed_s: float
    query_id: str
    error: str | None = None

    def __str__(self) -> str:
        return self.answer


class StopRun(RLMError):
    """Raised by `completion(raise_on_stop=True)` when a budget or error ended the run."""

    def __init__(self, result: RLMResult) -> None:
        super().__init__(f"RLM stopped: {result.stop_reason}")
        self.result = result
