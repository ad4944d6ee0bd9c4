"""The run plan: the composed Hydra config turned into one frozen, typed `RunPlan`.

This module and the command lines (evals.run, evals.report, evals.check, the sweep callback)
are the only parts of `evals` that import Hydra or OmegaConf (tests/evals/test_plan.py checks
it): past `plan_from_config`, the harness sees typed fields, never the raw config. Harness
defaults live in evals/config.py (the schema) and conf/config.yaml; library defaults stay in
`rlm` (LMConfig, Budget) and are not restated here.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from rlm.budget import Budget
from rlm.lm import LMConfig
from rlm.telemetry.connection import redact
from rlm.usage import Price

from evals.config import EvalConfig
from evals.errors import EvalError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
# Keys that do not change results: left out of the config hash, so changing them still resumes.
VOLATILE_KEYS = ("concurrency", "db", "console", "report_format", "results_dir", "cache_dir", "label", "sweep_id",
                 "response_cache", "retry_errors", "trajectory")
REPORT_FORMATS = ("markdown", "csv", "latex")
DB_MODES = ("embedded", "native", "dsn", "off")


@dataclass(frozen=True)
class ModelPlan:
    """One configured model: `lm` is complete except a simulated model's base_url (set when the sim starts)."""

    name: str
    provider: str            # sim | openai (any OpenAI-compatible server)
    lm: LMConfig

    @property
    def simulated(self) -> bool:
        return self.provider == "sim"


@dataclass(frozen=True)
class RLMPlan:
    max_iterations: int
    max_output_chars: int
    cell_timeout_s: float
    memory_mb: int
    max_concurrent_subcalls: int
    budget: Budget


@dataclass(frozen=True)
class RunPlan:
    """Everything one run needs, typed and validated; secrets only in `db_dsn` (never printed or saved)."""

    run_id: str
    config_hash: str
    task: str
    task_params: dict[str, Any]
    task_version: str
    size_name: str
    size_tokens: int
    model: ModelPlan
    sub_model: ModelPlan
    methods: tuple[str, ...]
    depth: int
    samples: int
    seed: int
    concurrency: int
    rlm: RLMPlan
    sim_time_scale: float
    sim_seed: int
    db_mode: str
    results_dir: Path
    cache_dir: Path
    response_cache: bool
    console: bool
    report_format: str
    label: str | None
    sweep_id: str | None
    retry_errors: bool
    store_trajectory: bool = True          # `trajectory.store`: keep the texts (TextEvents) of each sample
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # e.g. `rlms:` for method=rlms
    db_dsn: str | None = field(default=None, repr=False)
    saved_config: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def run_dir(self) -> Path:
        return self.results_dir / "runs" / self.run_id

    @property
    def models_used(self) -> tuple[ModelPlan, ...]:
        """The models this run calls: the sub-model only when a method makes sub-calls with it."""
        from evals.methods import get_method

        uses_sub = self.depth >= 1 and any(get_method(m).uses_sub_model for m in self.methods)
        if uses_sub and self.sub_model.name != self.model.name:
            return (self.model, self.sub_model)
        return (self.model,)

    @property
    def simulated(self) -> bool:
        """True when any model this run calls is the simulator (its tables say "sim")."""
        return any(m.simulated for m in self.models_used)

    @property
    def prices(self) -> dict[str, Price]:
        return {m.name: m.lm.price for m in self.models_used if m.lm.price is not None}


def register_configs() -> None:
    """The structured schema, as `eval_schema` (conf/config.yaml's first default)."""
    ConfigStore.instance().store(name="eval_schema", node=EvalConfig)


def compose_config(overrides: list[str], *, with_hydra: bool = False) -> DictConfig:
    """The repo's config composed with `overrides`, as `python -m evals.run` would see it (no sweep syntax)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3", job_name="evals"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=with_hydra)


def expand_grid(overrides: list[str]) -> list[list[str]]:
    """One override list per job, like `-m`: `size=8K,16K depth=0,1` gives 4; an experiment's
    `hydra.sweeper.params` join in, and a later override of the same key replaces an earlier one."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    latest = {o.get_key_element().lstrip("+~"): o for o in parser.parse_overrides(list(overrides))}
    overrides = [o.input_line for o in latest.values()]
    plain = [o.input_line for o in latest.values() if not o.is_sweep_override()]
    params = compose_config(plain, with_hydra=True).hydra.sweeper.get("params") or {}
    lines = [f"{k}={v}" for k, v in params.items()] + list(overrides)
    (jobs,) = BasicSweeper.split_arguments(parser.parse_overrides(lines), max_batch_size=None)
    return jobs


def plan_for(overrides: list[str]) -> RunPlan:
    """Compose and plan in one step (tests, the CI gate, the pytest plugin)."""
    return plan_from_config(compose_config(overrides))


def plan_from_config(cfg: DictConfig) -> RunPlan:
    """Validate the composed config and freeze it into a RunPlan; bad input raises EvalError (one line)."""
    from evals.tasks import TaskError, get_task, min_size

    data = cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))
    data.pop("hydra", None)
    _check_values(data)
    try:
        generator = get_task(data["task"]["name"])
        smallest = min_size(data["task"]["name"], dict(data["task"]["params"]))
    except TaskError as exc:
        raise EvalError(str(exc)) from exc
    size = data["size"]
    if size["tokens"] < smallest:
        raise EvalError(f"size {size['name']} ({size['tokens']} tokens) is below the smallest size task "
                        f"{data['task']['name']!r} can be fitted to ({smallest} tokens)")
    digest = config_hash(data, generator.version)
    rlm = data["rlm"]
    budget = rlm["budget"]
    plan = RunPlan(
        run_id=f"{data['task']['name']}-{size['name']}-{digest}", config_hash=digest,
        task=data["task"]["name"], task_params=dict(data["task"]["params"]), task_version=str(generator.version),
        size_name=size["name"], size_tokens=int(size["tokens"]),
        model=model_plan(data["model"]), sub_model=model_plan(data["sub_model"]),
        methods=tuple(data["methods"]), depth=int(data["depth"]), samples=int(data["samples"]),
        seed=int(data["seed"]), concurrency=int(data["concurrency"]),
        rlm=RLMPlan(max_iterations=int(rlm["max_iterations"]), max_output_chars=int(rlm["max_output_chars"]),
                    cell_timeout_s=float(rlm["cell_timeout_s"]), memory_mb=int(rlm["memory_mb"]),
                    max_concurrent_subcalls=int(rlm["max_concurrent_subcalls"]),
                    budget=Budget(max_tokens=budget["max_tokens"], max_cost_usd=budget["max_cost_usd"],
                                  max_wall_s=budget["max_wall_s"])),
        sim_time_scale=float(data["sim"]["time_scale"]), sim_seed=int(data["sim"]["seed"]),
        db_mode=data["db"]["mode"], db_dsn=real_dsn(data["db"]["dsn"]),
        results_dir=Path(data["results_dir"]), cache_dir=Path(data["cache_dir"]),
        response_cache=bool(data["response_cache"]), console=bool(data["console"]),
        report_format=data["report_format"], label=data["label"] or None, sweep_id=data["sweep_id"] or None,
        retry_errors=bool(data["retry_errors"]), store_trajectory=bool(data["trajectory"]["store"]),
        saved_config=masked(data),
        method_options={name: dict(data.get(name) or {}) for name in data["methods"] if isinstance(data.get(name), dict)})
    check_api_keys(plan)
    return plan


def config_hash(data: dict[str, Any], generator_version: Any) -> str:
    """Hash of what determines results: the config (less volatile keys) and the task generator's version."""
    kept = {k: v for k, v in data.items() if k not in VOLATILE_KEYS and k != "hydra"}
    kept["task_generator_version"] = generator_version
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:12]


def real_dsn(dsn: str | None) -> str | None:
    """A DSN masked by the command line (evals.cli) is the one it exported to RLM_TSDB_DSN."""
    if dsn and "***" in dsn:
        from rlm.telemetry.connection import DSN_ENV

        exported = os.environ.get(DSN_ENV)
        if exported and redact(exported, exported) == dsn:
            return exported
    return dsn or None


def model_plan(mc: dict[str, Any]) -> ModelPlan:
    lm = LMConfig(model=mc["name"], base_url=mc.get("base_url"), api_key_env=mc.get("api_key_env"),
                  price=price_of(mc.get("price") or {}),
                  context_window=mc.get("context_window"), max_output_tokens=mc.get("max_output_tokens"),
                  stream=bool(mc.get("stream", True)), timeout_s=float(mc["timeout_s"]),
                  max_retries=int(mc["max_retries"]), max_rate_limit_retries=int(mc["max_rate_limit_retries"]),
                  tokenizer=mc.get("tokenizer") or None, concurrency_start=int(mc["concurrency_start"]),
                  concurrency_max=int(mc["concurrency_max"]))
    return ModelPlan(name=mc["name"], provider=mc["provider"], lm=lm)


def price_of(price: dict[str, Any]) -> Price | None:
    """The model's price, or None (unknown cost) when neither input nor output is set."""
    given, cached, output = price.get("input"), price.get("cached_input"), price.get("output")
    if given is None and output is None:
        return None
    return Price(float(given), float(given if cached is None else cached), float(output))


def masked(data: dict[str, Any]) -> dict[str, Any]:
    """The config as saved with a run (YAML, runs table, run record): passwords in URLs masked."""
    out = json.loads(json.dumps(data, default=str))
    dsn = (out.get("db") or {}).get("dsn")
    if dsn:
        out["db"]["dsn"] = redact(dsn, dsn)
    for key in ("model", "sub_model"):
        url = (out.get(key) or {}).get("base_url")
        if url:
            out[key]["base_url"] = redact(url)
    return out


def _check_values(data: dict[str, Any]) -> None:
    """Every check that can fail fast, before any sample is built or model called."""
    from evals.methods import method_names

    if data["samples"] < 1:
        raise EvalError(f"samples must be at least 1, got {data['samples']}")
    if data["depth"] < 0:
        raise EvalError(f"depth must be 0 or more, got {data['depth']}")
    if data["concurrency"] < 1:
        raise EvalError(f"concurrency must be at least 1, got {data['concurrency']}")
    unknown = [m for m in data["methods"] if m not in method_names()]
    if unknown:
        raise EvalError(f"unknown method {unknown[0]!r}; choose from {sorted(method_names())}")
    if data["db"]["mode"] not in DB_MODES:
        raise EvalError(f"db.mode must be embedded, native, dsn or off, got {data['db']['mode']!r}")
    if data["report_format"] not in REPORT_FORMATS:
        raise EvalError(f"report_format must be markdown, csv or latex, got {data['report_format']!r}")
    for key in ("model", "sub_model"):
        _check_model(key, data[key])


def _check_model(key: str, mc: dict[str, Any]) -> None:
    for name in ("max_retries", "max_rate_limit_retries"):
        if mc[name] < 0:
            raise EvalError(f"{key}.{name} must be 0 or more, got {mc[name]}")
    if mc["timeout_s"] <= 0:
        raise EvalError(f"{key}.timeout_s must be above 0, got {mc['timeout_s']}")
    if not 1 <= mc["concurrency_start"] <= mc["concurrency_max"]:
        raise EvalError(f"{key}.concurrency_start must be at least 1 and at most {key}.concurrency_max, got "
                        f"{mc['concurrency_start']} and {mc['concurrency_max']}")
    price = mc.get("price") or {}
    if (price.get("input") is None) != (price.get("output") is None):
        raise EvalError(f"{key}.price needs both input and output (USD per 1M tokens), or neither for an "
                        f"unknown cost: e.g. {key}.price.input=0.5 {key}.price.output=1.5")
    negative = [name for name, value in price.items() if value is not None and value < 0]
    if negative:
        raise EvalError(f"{key}.price.{negative[0]} must be 0 or more, got {price[negative[0]]}")
    tokenizer = mc.get("tokenizer")
    if tokenizer and tokenizer.endswith(".json") and not Path(tokenizer).is_file():
        raise EvalError(f"{key}.tokenizer: no tokenizer file at {tokenizer!r} (a tokenizer.json path or a "
                        f"tiktoken encoding name such as cl100k_base)")


def check_api_keys(plan: RunPlan) -> None:
    """Fail before any work when a real model's key variable is unset (the key itself is never read here)."""
    for m in plan.models_used:
        if not m.simulated and m.lm.api_key_env and not os.environ.get(m.lm.api_key_env):
            raise EvalError(f"model {m.name!r} needs an API key: set the environment variable {m.lm.api_key_env}")
