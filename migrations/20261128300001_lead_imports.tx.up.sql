-- Lead imports (issue 7): a CSV upload becomes leads in the background.
--
-- The uploaded file is stored in the database, in 1 MiB chunks
-- (lead_import_files), not on local disk: `leadpilot serve` receives the
-- upload and `leadpilot worker` reads it, and in production they are
-- separate processes, usually on separate machines. A file under DATA_DIR
-- would only be readable when both run in one process (`all` mode); the
-- database is shared by both, is already backed up, and is tenant-isolated
-- by the same row-level security. The chunks are deleted with the import.

CREATE TABLE lead_imports (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  campaign_id uuid,
  status text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  mapping jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(mapping) = 'object'),
  options jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(options) = 'object'),
  file_name text,
  file_bytes bigint NOT NULL DEFAULT 0 CHECK (file_bytes >= 0),
  rows_seen integer NOT NULL DEFAULT 0 CHECK (rows_seen >= 0),
  inserted integer NOT NULL DEFAULT 0 CHECK (inserted >= 0),
  duplicates_in_file integer NOT NULL DEFAULT 0 CHECK (duplicates_in_file >= 0),
  already_present integer NOT NULL DEFAULT 0 CHECK (already_present >= 0),
  invalid integer NOT NULL DEFAULT 0 CHECK (invalid >= 0),
  suppressed integer NOT NULL DEFAULT 0 CHECK (suppressed >= 0),
  error text,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  FOREIGN KEY (org_id, campaign_id) REFERENCES campaigns (org_id, id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX lead_imports_org_id_id_key ON lead_imports (org_id, id DESC);

CREATE TABLE lead_import_files (
  org_id uuid NOT NULL,
  import_id uuid NOT NULL,
  seq integer NOT NULL CHECK (seq >= 0),
  data bytea NOT NULL,
  PRIMARY KEY (import_id, seq),
  FOREIGN KEY (org_id, import_id) REFERENCES lead_imports (org_id, id) ON DELETE CASCADE
);

CREATE TABLE lead_import_rows_rejected (
  org_id uuid NOT NULL,
  import_id uuid NOT NULL,
  line integer NOT NULL,
  raw text NOT NULL,
  reason text NOT NULL,
  message text NOT NULL DEFAULT '',
  PRIMARY KEY (import_id, line),
  FOREIGN KEY (org_id, import_id) REFERENCES lead_imports (org_id, id) ON DELETE CASCADE
);

--bun:split

GRANT SELECT, INSERT, UPDATE, DELETE ON lead_imports, lead_import_files, lead_import_rows_rejected TO leadpilot_app;

ALTER TABLE lead_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_import_files ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_import_rows_rejected ENABLE ROW LEVEL SECURITY;

CREATE POLICY org_isolation ON lead_imports
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
CREATE POLICY org_isolation ON lead_import_files
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
CREATE POLICY org_isolation ON lead_import_rows_rejected
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
