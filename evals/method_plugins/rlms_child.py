"""Runs the official RLM library (PyPI `rlms`) on one sample, in its own interpreter.

Both that library and this project name their top-level package `rlm`, so the two cannot
share a process: the harness starts this file with `python -I` (no current directory, no
PYTHONPATH) and this file imports only the standard library and the official `rlm`.
Its `environment="local"` runs model-written code with exec() inside this process.

stdin: a JSON job (see evals/method_plugins/rlms.py); argv[1]: where to write the JSON result.
"""
import json
import sys
import time
import traceback

_STOPS = {"TimeoutExceededError": "max_wall_time", "TokenLimitExceededError": "max_tokens",
          "BudgetExceededError": "max_cost", "ErrorThresholdExceededError": "max_errors"}


def _load_official(path):
    if path:
        sys.path.insert(0, path)
    import importlib.util
    import rlm
    # This project also has an `rlm` with an RLM class; only the official one has rlm.core and rlm.clients.
    try:
        official = all(importlib.util.find_spec(m) for m in ("rlm.core.rlm", "rlm.clients"))
    except ModuleNotFoundError:
        official = False
    if not official:
        found = getattr(rlm, "__file__", rlm)
        raise ImportError(f"the official RLM library (PyPI rlms) is not importable (found {found})")
    from rlm.logger import RLMLogger
    import rlm.clients.openai  # noqa: F401  (imported here, so startup is not counted as the sample's time)
    return rlm.RLM, RLMLogger


def _backend_kwargs(endpoint):
    return {"model_name": endpoint["model"], "base_url": endpoint["base_url"], "api_key": "proxy",
            "default_headers": endpoint["headers"], "max_retries": endpoint.get("max_retries", 2)}


def _iterations(trajectory):
    return list((trajectory or {}).get("iterations") or [])


def _slim(step):
    """A logged step without what is stored elsewhere or huge: the prompt (the whole conversation so
    far; the proxy records each call's prompt), REPL locals (they hold `context`) and sub-call prompts."""
    step = {k: v for k, v in step.items() if k != "prompt"}
    blocks = []
    for block in step.get("code_blocks") or []:
        result = {k: v for k, v in (block.get("result") or {}).items() if k != "locals"}
        calls = result.get("rlm_calls") or []
        result["rlm_calls"] = [{k: v for k, v in call.items() if k != "prompt"} for call in calls]
        blocks.append({**block, "result": result})
    step["code_blocks"] = blocks
    return step


def run(job):
    RLM, RLMLogger = _load_official(job.get("rlms_path"))
    logger = RLMLogger()
    kwargs = dict(backend="openai", backend_kwargs=_backend_kwargs(job["root"]), environment=job["environment"],
                  max_depth=job["max_depth"], max_iterations=job["max_iterations"], max_timeout=job["max_timeout_s"],
                  max_tokens=job["max_tokens"], max_errors=job["max_errors"], logger=logger,
                  max_concurrent_subcalls=job["max_concurrent_subcalls"])
    if job.get("sub"):
        kwargs.update(other_backends=["openai"], other_backend_kwargs=[_backend_kwargs(job["sub"])])
    result = {"answer": "", "stop_reason": "error", "iterations": 0, "error": None, "library_usage": None,
              "trajectory": None}
    started = time.perf_counter()
    try:
        with RLM(**kwargs) as rlm:
            completion = rlm.completion(job["context"], root_prompt=job["query"])
        trajectory = logger.get_trajectory()
        steps = _iterations(trajectory)
        answered = any(step.get("final_answer") is not None and step.get("code_blocks") for step in steps)
        result.update(answer=str(completion.response or ""), stop_reason="final" if answered else "max_iterations",
                      library_usage=completion.usage_summary.to_dict() if completion.usage_summary else None)
    except Exception as exc:  # the library's own limits end a sample with its partial answer
        trajectory = logger.get_trajectory()
        name = type(exc).__name__
        result.update(answer=str(getattr(exc, "partial_answer", None) or ""), stop_reason=_STOPS.get(name, "error"),
                      error=f"{name}: {exc}")
        if name not in _STOPS:
            result["traceback"] = traceback.format_exc(limit=8)
    result["iterations"] = len(_iterations(trajectory))
    result["execution_time_s"] = time.perf_counter() - started
    if job.get("keep_trajectory") and trajectory:
        result["trajectory"] = {**trajectory, "iterations": [_slim(step) for step in _iterations(trajectory)]}
    return result


def main():
    out_path = sys.argv[1]
    try:
        result = run(json.load(sys.stdin))
    except ImportError as exc:
        result = {"fatal": f"{exc}. Install it with: pip install --no-deps --target .rlm-evals/rlms 'rlms>=0.1.3' "
                           "and set RLMS_PATH=.rlm-evals/rlms (see docs/METHODS.md)"}
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
