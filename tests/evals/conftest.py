"""The rlm-evals pytest plugin's fixtures, for this folder (installed, the entry point `rlm_evals` loads them)."""
from evals.pytest_plugin import eval_gate, rlm_evals_task_cache, run_eval  # noqa: F401
