-- 010: trajectory texts compress a day after they are written, not after 30 days like the numeric
-- hypertables (003 keeps those outside the aggregates' 7-day refresh window; no aggregate reads
-- trajectory_texts). Texts are written once and read rarely, and compressed, a run's repeated
-- sub-call instructions and per-row keys shrink to a fraction (bench/bench_trajectory.py --main-job).
SELECT remove_compression_policy('trajectory_texts', if_exists => TRUE);
SELECT add_compression_policy('trajectory_texts', INTERVAL '1 day', if_not_exists => TRUE);
