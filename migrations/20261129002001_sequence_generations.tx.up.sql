-- Generation runs: one row per "generate the campaign's sequences" request,
-- with its progress, and one item per lead it covers. The items are the
-- run's work list: a worker restarted midway carries on with the pending
-- ones, and sequences' UNIQUE (org_id, lead_id) keeps a lead from getting
-- two sequences whatever happens.
CREATE TABLE sequence_generations (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  campaign_id uuid NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'cancelled', 'failed')),
  -- What the user wants, when the campaign has no template.
  description text CHECK (length(description) <= 4000),
  total integer NOT NULL DEFAULT 0 CHECK (total >= 0),
  done integer NOT NULL DEFAULT 0 CHECK (done >= 0),
  failed integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
  prompt_tokens bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
  completion_tokens bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
  -- Who answered (the last call's), for the cost estimate.
  llm_provider text,
  llm_model text,
  -- Why the whole run failed (a bad key, a quota), when it did.
  error text,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (org_id, campaign_id) REFERENCES campaigns (org_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX sequence_generations_org_id_id_key ON sequence_generations (org_id, id);
CREATE INDEX sequence_generations_campaign_idx ON sequence_generations (org_id, campaign_id, id DESC);
-- At most one unfinished run per campaign.
CREATE UNIQUE INDEX sequence_generations_one_active ON sequence_generations (org_id, campaign_id)
  WHERE status IN ('queued', 'running');
CREATE TRIGGER sequence_generations_updated_at BEFORE UPDATE ON sequence_generations
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE sequence_generation_items (
  org_id uuid NOT NULL,
  generation_id uuid NOT NULL,
  lead_id uuid NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
  -- Why the lead failed: the validator's violations, the provider's words.
  reason text,
  finished_at timestamptz,
  PRIMARY KEY (org_id, generation_id, lead_id),
  FOREIGN KEY (org_id, generation_id) REFERENCES sequence_generations (org_id, id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, lead_id) REFERENCES leads (org_id, id) ON DELETE CASCADE
);
CREATE INDEX sequence_generation_items_pending ON sequence_generation_items (org_id, generation_id, lead_id)
  WHERE status = 'pending';
CREATE INDEX sequence_generation_items_lead_idx ON sequence_generation_items (org_id, lead_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON sequence_generations, sequence_generation_items TO leadpilot_app;
ALTER TABLE sequence_generations ENABLE ROW LEVEL SECURITY;
ALTER TABLE sequence_generation_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON sequence_generations
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
CREATE POLICY org_isolation ON sequence_generation_items
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
