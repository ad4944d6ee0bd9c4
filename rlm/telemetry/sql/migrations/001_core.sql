-- 001: core tables. Hypertables on time; every hypertable key includes time so replays of the
-- local spool hit ON CONFLICT DO NOTHING instead of duplicating rows.
CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE IF NOT EXISTS runs (
    run_id      text PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text NOT NULL DEFAULT 'running',
    config      jsonb NOT NULL DEFAULT '{}'::jsonb,
    git_sha     text,
    sweep_id    text,
    label       text
);
CREATE INDEX IF NOT EXISTS runs_started_at_idx ON runs (started_at DESC);
CREATE INDEX IF NOT EXISTS runs_sweep_idx ON runs (sweep_id) WHERE sweep_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS samples (
    time         timestamptz NOT NULL,
    run_id       text NOT NULL,
    query_id     text NOT NULL,
    task         text,
    family       text,
    size_tokens  integer,
    method       text,
    model        text,
    sub_model    text,
    depth        integer,
    sample_index integer,
    score        double precision,
    correct      boolean,
    answer       text,
    expected     jsonb,
    error        text,
    stop_reason  text,
    iterations   integer,
    latency_ms   double precision,
    config_hash  text,
    PRIMARY KEY (run_id, query_id)
);

-- USD per 1M tokens, like rlm.usage.Price.
CREATE TABLE IF NOT EXISTS model_prices (
    model        text PRIMARY KEY,
    input        double precision NOT NULL,
    cached_input double precision NOT NULL,
    output       double precision NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS llm_calls (
    time              timestamptz NOT NULL,
    run_id            text NOT NULL,
    query_id          text NOT NULL,
    call_id           text NOT NULL,
    parent_call_id    text,
    depth             integer NOT NULL,
    iteration         integer,
    role              text NOT NULL,
    model             text NOT NULL,
    prompt_tokens     integer NOT NULL DEFAULT 0,   -- includes cached_tokens (OpenAI convention)
    cached_tokens     integer NOT NULL DEFAULT 0,
    completion_tokens integer NOT NULL DEFAULT 0,
    reasoning_tokens  integer NOT NULL DEFAULT 0,
    latency_ms        double precision NOT NULL DEFAULT 0,
    ttft_ms           double precision,
    cost_usd          double precision,             -- NULL = unknown price, never zero
    status            text NOT NULL DEFAULT 'ok',
    error_type        text,
    attempt           integer NOT NULL DEFAULT 1,
    PRIMARY KEY (call_id, time)
);
SELECT create_hypertable('llm_calls', by_range('time', INTERVAL '1 day'), if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS llm_calls_run_query_idx ON llm_calls (run_id, query_id, time DESC);
CREATE INDEX IF NOT EXISTS llm_calls_parent_idx ON llm_calls (parent_call_id, time DESC)
    WHERE parent_call_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS llm_calls_run_latency_idx ON llm_calls (run_id, latency_ms DESC);

CREATE TABLE IF NOT EXISTS code_executions (
    time           timestamptz NOT NULL,
    run_id         text NOT NULL,
    query_id       text NOT NULL,
    exec_id        text NOT NULL,
    parent_call_id text,
    depth          integer NOT NULL,
    iteration      integer NOT NULL,
    cell_index     integer NOT NULL,
    duration_ms    double precision NOT NULL,
    code_chars     integer NOT NULL,
    stdout_chars   integer NOT NULL,
    stderr_chars   integer NOT NULL,
    success        boolean NOT NULL,
    error_type     text,
    sub_calls      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (exec_id, time)
);
SELECT create_hypertable('code_executions', by_range('time', INTERVAL '1 day'), if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS code_executions_run_query_idx ON code_executions (run_id, query_id, time DESC);
CREATE INDEX IF NOT EXISTS code_executions_parent_idx ON code_executions (parent_call_id, time DESC)
    WHERE parent_call_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS code_executions_run_duration_idx ON code_executions (run_id, duration_ms DESC);
