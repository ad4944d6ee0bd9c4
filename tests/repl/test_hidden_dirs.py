"""Model-written code finds the checkout, the harness's results and the database home empty or closed."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from rlm.repl import HIDE_ENV, Sandbox, SandboxLimits

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mount namespaces and the uid drop need root")


def _run(sandbox: Sandbox, code: str) -> tuple[str, str | None]:
    result = sandbox.run(code)
    return result.stdout.strip(), result.error_type


@pytest.fixture
def open_dir():
    """A world-readable dir outside pytest's own 0700 tmp root, so only the mount can hide it."""
    path = Path(tempfile.mkdtemp(prefix="rlm-hidden-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_listing_or_opening_results_the_db_home_or_the_checkout_is_denied(open_dir, monkeypatch):
    tmp_path = open_dir
    results = tmp_path / "results" / "runs" / "r1"
    home = tmp_path / "dbhome"
    results.mkdir(parents=True)
    home.mkdir()
    (results / "record.jsonl").write_text('{"expected": ["4217733"]}\n')
    (home / "data.bin").write_text("every reply")
    # World-readable on purpose: the mount covers them, not only the permissions.
    for path in (tmp_path / "results", tmp_path / "results" / "runs", results, home):
        path.chmod(0o755)
    monkeypatch.delenv(HIDE_ENV, raising=False)
    monkeypatch.setenv("RLM_EVALS_HOME", str(home))
    probe = f"import os; print(os.listdir({str(results)!r}))"
    with Sandbox("x", None, SandboxLimits(cell_timeout_s=30)) as sandbox:  # not listed: readable
        assert _run(sandbox, probe) == ("['record.jsonl']", None)
    monkeypatch.setenv(HIDE_ENV, str(tmp_path / "results"))
    with Sandbox("the context", None, SandboxLimits(cell_timeout_s=30)) as sandbox:
        assert _run(sandbox, "print(len(context))") == ("11", None)
        assert _run(sandbox, f"import os; print(os.listdir({str(tmp_path / 'results')!r}))") == ("[]", None)
        assert _run(sandbox, f"print(open({str(results / 'record.jsonl')!r}).read())")[1] == "FileNotFoundError"
        assert _run(sandbox, f"import os; print(os.listdir({str(home)!r}))") == ("[]", None)
        assert _run(sandbox, f"print(open({str(ROOT / 'pyproject.toml')!r}).read())")[1] == "FileNotFoundError"
        listed, error = _run(sandbox, f"import os; print(sorted(os.listdir({str(ROOT)!r})))")
        assert error is None and "evals" not in listed and "pyproject.toml" not in listed


def test_private_results_are_closed_by_permissions_too(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "record.jsonl").write_text("gold")
    with Sandbox("x", None, SandboxLimits(cell_timeout_s=30)) as sandbox:
        assert _run(sandbox, f"import os; os.listdir({str(private)!r})")[1] == "PermissionError"
