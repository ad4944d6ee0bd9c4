-- 007: the text of every trajectory item (root turn messages and replies, cell code and output,
-- sub-call prompts and replies, the final answer), apart from the narrow numeric hypertables.
-- item_id is an llm_calls.call_id, a code_executions.exec_id, or the query_id (field 'answer').
-- `chars` is the length before the per-item cap cut the text (`truncated`). NUL and unpaired
-- surrogates, which Postgres text cannot hold, are stored escaped (rlm.telemetry.writes).
CREATE TABLE IF NOT EXISTS trajectory_texts (
    time      timestamptz NOT NULL,
    run_id    text NOT NULL,
    query_id  text NOT NULL,
    item_id   text NOT NULL,
    field     text NOT NULL,
    text      text NOT NULL,
    chars     integer NOT NULL,
    truncated boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, item_id, field, time)
);
SELECT create_hypertable('trajectory_texts', by_range('time', INTERVAL '1 day'), if_not_exists => TRUE);
CREATE INDEX IF NOT EXISTS trajectory_texts_query_idx ON trajectory_texts (run_id, query_id, time DESC);

-- Compression and retention as for the other hypertables (003): whole runs compress together.
ALTER TABLE trajectory_texts SET (timescaledb.compress, timescaledb.compress_segmentby = 'run_id',
                                  timescaledb.compress_orderby = 'time DESC');
SELECT add_compression_policy('trajectory_texts', INTERVAL '30 days', if_not_exists => TRUE);
SELECT add_retention_policy('trajectory_texts', INTERVAL '365 days', if_not_exists => TRUE);
