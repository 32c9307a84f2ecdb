-- Token usage per organisation and day, by provider, model and operation:
-- what the usage API reports and what billing will meter. One row per key
-- and day, incremented in place, so the table grows with days x models,
-- not with calls.
CREATE TABLE llm_usage_daily (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  day date NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  operation text NOT NULL CHECK (operation IN ('chat', 'chat_stream', 'generate_sequence', 'classify_reply', 'extract', 'test')),
  calls bigint NOT NULL DEFAULT 0 CHECK (calls >= 0),
  errors bigint NOT NULL DEFAULT 0 CHECK (errors >= 0),
  prompt_tokens bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
  completion_tokens bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, day, provider, model, operation)
);

--bun:split

GRANT SELECT, INSERT, UPDATE, DELETE ON llm_usage_daily TO leadpilot_app;

--bun:split

ALTER TABLE llm_usage_daily ENABLE ROW LEVEL SECURITY;

--bun:split

CREATE POLICY org_isolation ON llm_usage_daily
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
