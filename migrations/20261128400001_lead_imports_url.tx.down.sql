ALTER TABLE lead_imports
  DROP COLUMN IF EXISTS fetch_attempts,
  DROP COLUMN IF EXISTS fetched_at,
  DROP COLUMN IF EXISTS source_url;
