"""Where the tests find the official RLM library (PyPI rlms): $RLMS_PATH or .rlm-evals/rlms.

It cannot be installed next to this project's `rlm` package in one environment without one
shadowing the other, so it lives in its own directory (docs/METHODS.md). Tests that need it
skip, saying how to install it, when it is absent.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = "pip install --no-deps --target .rlm-evals/rlms 'rlms>=0.1.3'"


def official_library_path() -> str:
    path = os.environ.get("RLMS_PATH") or str(ROOT / ".rlm-evals" / "rlms")
    if not (Path(path) / "rlm" / "core" / "rlm.py").exists():
        pytest.skip(f"the official RLM library is not installed: {INSTALL}")
    return path
