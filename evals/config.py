"""Structured configs: Hydra validates every value's type against these dataclasses.

Registered as `eval_schema` (the first entry of conf/config.yaml's defaults) by evals.plan, so a
typo'd key or a string where a number belongs fails before any work starts. Plain dataclasses:
Hydra is imported only where a config is composed (evals.plan and the command lines).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from rlm.concurrency import DEFAULT_MAX, DEFAULT_START


@dataclass
class PriceConfig:
    """USD per 1M tokens. Input and output both null = unknown cost (never guessed as $0);
    cached_input null = the input price (no cache discount known). Always a block, never null,
    so `model.price.input=...` works from the command line on any model."""
    input: Optional[float] = None
    cached_input: Optional[float] = None
    output: Optional[float] = None


@dataclass
class ModelConfig:
    name: str = "sim-large"
    provider: str = "sim"            # sim | openai (any OpenAI-compatible server)
    base_url: Optional[str] = None
    api_key_env: Optional[str] = None
    context_window: Optional[int] = None
    max_output_tokens: Optional[int] = None
    stream: bool = True
    timeout_s: float = 600.0         # one request's timeout
    max_retries: int = 4             # retries of a transient failure (5xx, connection, timeout, cut stream)
    max_rate_limit_retries: int = 30  # 429s are expected under load: the endpoint's limiter adapts
    tokenizer: Optional[str] = None  # tiktoken encoding or tokenizer.json path for estimated usage; null = cl100k
    concurrency_start: int = DEFAULT_START  # the endpoint's adaptive limit at first (requests in flight)
    concurrency_max: int = DEFAULT_MAX      # ... and its cap
    price: PriceConfig = field(default_factory=PriceConfig)


@dataclass
class TaskConfig:
    name: str = "niah"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SizeConfig:
    name: str = "128K"
    tokens: int = 131072


@dataclass
class BudgetConfig:
    max_tokens: Optional[int] = None
    max_cost_usd: Optional[float] = None
    max_wall_s: Optional[float] = None


@dataclass
class RLMSettings:
    max_iterations: int = 12
    max_output_chars: int = 20000
    cell_timeout_s: float = 120.0
    memory_mb: int = 4096
    max_concurrent_subcalls: int = 8
    budget: BudgetConfig = field(default_factory=BudgetConfig)


@dataclass
class RlmsConfig:
    """method=rlms (the official library); its limits come from `rlm` so both RLMs get the same."""
    path: Optional[str] = None       # a `pip install --target` dir; null = $RLMS_PATH, else ./.rlm-evals/rlms
    environment: str = "local"       # the library's REPL; "local" exec's model code in its process
    log_trajectory: bool = False     # store the library's own logger output with each sample
    text_limit: Optional[int] = 20000  # prompts/replies recorded through the proxy, cut to N chars


@dataclass
class SimSettings:
    time_scale: float = 0.02
    seed: int = 0


@dataclass
class DBConfig:
    mode: str = "embedded"           # embedded | native | dsn | off
    dsn: Optional[str] = None


@dataclass
class TrajectoryConfig:
    store: bool = True               # keep each sample's texts in the run record and the DB


@dataclass
class EvalConfig:
    task: TaskConfig = field(default_factory=TaskConfig)
    size: SizeConfig = field(default_factory=SizeConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    sub_model: ModelConfig = field(default_factory=ModelConfig)
    methods: list[str] = field(default_factory=lambda: ["rlm", "baseline"])
    db: DBConfig = field(default_factory=DBConfig)
    depth: int = 1
    samples: int = 5
    seed: int = 0
    concurrency: int = 4
    rlm: RLMSettings = field(default_factory=RLMSettings)
    rlms: RlmsConfig = field(default_factory=RlmsConfig)
    sim: SimSettings = field(default_factory=SimSettings)
    results_dir: str = "results"
    cache_dir: str = ".rlm-evals/cache"
    response_cache: bool = False
    console: bool = False
    report_format: str = "markdown"
    label: Optional[str] = None
    sweep_id: Optional[str] = None
    retry_errors: bool = True        # resume reruns samples that failed transiently
    trajectory: TrajectoryConfig = field(default_factory=TrajectoryConfig)
