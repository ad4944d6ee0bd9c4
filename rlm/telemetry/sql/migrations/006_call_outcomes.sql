-- 006: what the server did on each model call. error_kind is one of rlm.errors.ErrorKind (on an
-- 'ok' row: the kind of the last failed attempt the retries recovered from); http_status is the
-- last attempt's status (200 for an empty or cut-off reply, NULL when no reply came);
-- usage_source says whether the token counts (and so the cost) were reported by the server or
-- estimated locally because the reply carried no usage.
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS error_kind text;
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS http_status integer;
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS usage_source text;
