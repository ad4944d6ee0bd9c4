"""Rich rendering of an RLM's iterations: replies, code cells, outputs, running cost.

Off by default in library use: pass `console=RLMConsole()` to RLM_REPL to watch a run.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text

from rlm.lm import Completion
from rlm.usage import Usage

if TYPE_CHECKING:
    from rlm.repl import CellResult
    from rlm.rlm_repl import RLMResult


def _cost(usage: Usage) -> str:
    return "cost unknown" if usage.cost_usd is None else f"${usage.cost_usd:.4f}"


class RLMConsole:
    """Prints each iteration of an RLM as it happens."""

    def __init__(self, console: Console | None = None, max_chars: int = 2_000) -> None:
        self.console = console or Console(stderr=True)
        self.max_chars = max_chars

    def _clip(self, text: str) -> str:
        return text if len(text) <= self.max_chars else text[: self.max_chars] + " ..."

    def model_reply(self, level: int, iteration: int, completion: Completion, total: Usage) -> None:
        title = (f"depth {level} · iteration {iteration} · {completion.model} · "
                 f"{completion.latency_ms:.0f} ms · {completion.usage.prompt_tokens:,} in "
                 f"({completion.usage.cached_tokens:,} cached) / {completion.usage.completion_tokens:,} out · "
                 f"total {_cost(total)}")
        self.console.print(Panel(Text(self._clip(completion.text)), title=title, border_style="blue"))

    def cell(self, level: int, iteration: int, code: str, result: "CellResult", output: str, total: Usage) -> None:
        status = "ok" if result.success else (result.error_type or "error")
        title = (f"depth {level} · iteration {iteration} · cell · {status} · {result.duration_ms:.0f} ms · "
                 f"{result.sub_calls} sub-calls · total {_cost(total)}")
        style = "green" if result.success else "red"
        self.console.print(Panel(Syntax(code, "python", line_numbers=True), title=title, border_style=style))
        self.console.print(Panel(Text(self._clip(output)), title="output", border_style="dim"))

    def final(self, result: "RLMResult") -> None:
        usage = result.usage.total
        self.console.print(Panel(
            Text(self._clip(result.answer)),
            title=(f"answer · {result.stop_reason} · {result.iterations} iterations · {usage.calls} calls · "
                   f"{usage.prompt_tokens:,} in ({usage.cached_tokens:,} cached) / "
                   f"{usage.completion_tokens:,} out · {_cost(usage)} · {result.elapsed_s:.1f} s"),
            border_style="magenta"))
