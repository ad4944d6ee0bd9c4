"""Budgets shared by a whole RLM tree: a child spends from its parent's remainder."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal

from rlm.usage import Usage

BudgetStop = Literal["max_tokens", "max_cost", "max_wall_time"]


@dataclass(frozen=True)
class Budget:
    """Limits for one completion, counted over every call at every depth. None = no limit."""

    max_tokens: int | None = None
    max_cost_usd: float | None = None
    max_wall_s: float | None = None


class BudgetTracker:
    """Thread-safe running totals checked against a Budget."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.started = time.monotonic()
        self._tokens = 0
        self._cost = 0.0
        self._lock = threading.Lock()

    def add(self, usage: Usage) -> None:
        with self._lock:
            self._tokens += usage.total_tokens
            self._cost += usage.cost_usd or 0.0

    def exceeded(self) -> BudgetStop | None:
        """The stop reason of the first limit reached, or None."""
        b = self.budget
        with self._lock:
            if b.max_tokens is not None and self._tokens >= b.max_tokens:
                return "max_tokens"
            if b.max_cost_usd is not None and self._cost >= b.max_cost_usd:
                return "max_cost"
        if b.max_wall_s is not None and time.monotonic() - self.started >= b.max_wall_s:
            return "max_wall_time"
        return None

    def remaining_wall_s(self) -> float | None:
        if self.budget.max_wall_s is None:
            return None
        return max(0.0, self.budget.max_wall_s - (time.monotonic() - self.started))
