-- The telemetry schema, for psql: `psql "$DSN" -f schema.sql` from this directory.
-- The numbered migrations are the one source of truth; rlm.telemetry.migrate() applies the ones
-- a database lacks and records each in schema_version.
CREATE TABLE IF NOT EXISTS schema_version (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
\ir migrations/001_core.sql
\ir migrations/002_aggregates.sql
\ir migrations/003_policies.sql
\ir migrations/004_exec_link.sql
\ir migrations/005_run_record.sql
\ir migrations/006_call_outcomes.sql
\ir migrations/007_trajectory_texts.sql
\ir migrations/008_realtime_aggregates.sql
\ir migrations/009_ingest_indexes.sql
INSERT INTO schema_version (version, name) VALUES
    (1, '001_core'), (2, '002_aggregates'), (3, '003_policies'), (4, '004_exec_link'), (5, '005_run_record'),
    (6, '006_call_outcomes'), (7, '007_trajectory_texts'), (8, '008_realtime_aggregates'),
    (9, '009_ingest_indexes')
ON CONFLICT DO NOTHING;
