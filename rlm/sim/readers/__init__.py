"""Readers: how the simulator "reads" a text for one family of questions.

The simulator has no language understanding. For each task family it knows the
question's shape and the needle's shape, and extracts answers with plain string
matching. Every module in this package that defines a module-level `READER` is
registered automatically, so a new task family adds one file here.
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from rlm.sim.readers.base import Reader


@lru_cache(maxsize=1)
def all_readers() -> tuple[Reader, ...]:
    readers = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        reader = getattr(module, "READER", None)
        if reader is not None:
            readers.append(reader)
    return tuple(readers)


def reader_for(query: str) -> Reader | None:
    """The first reader whose family matches `query`, or None."""
    for reader in all_readers():
        if reader.matches(query):
            return reader
    return None


__all__ = ["Reader", "all_readers", "reader_for"]
