-- 005: the samples row is the harness's SampleResult (error kind, transient flag, the method's own
-- usage totals); runs carry the simulator flag apart from the user's label, and a failed run's error.
ALTER TABLE samples ADD COLUMN IF NOT EXISTS sample_id text;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS error_kind text;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS transient boolean;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS prompt_tokens integer;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS cached_tokens integer;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS completion_tokens integer;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS reasoning_tokens integer;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS cost_usd double precision;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS calls integer;
ALTER TABLE samples ADD COLUMN IF NOT EXISTS sub_calls integer;
CREATE INDEX IF NOT EXISTS samples_run_sample_idx ON samples (run_id, method, sample_id, time DESC);
ALTER TABLE runs ADD COLUMN IF NOT EXISTS simulated boolean;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS error text;
