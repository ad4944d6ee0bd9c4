-- 004: link each model call to the REPL cell whose code made it, so a trajectory can nest
-- sub-calls and child RLMs under their cell.
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS exec_id text;
