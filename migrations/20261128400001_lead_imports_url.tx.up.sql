-- Lead imports from an https URL (a Google Sheets CSV export link, say).
--
-- The API stores the URL only (no network access in the request); the
-- worker downloads it into lead_import_files, exactly like an upload, and
-- sets fetched_at in the same transaction, so a redelivered task never
-- downloads twice. fetch_attempts counts downloads that failed for a
-- reason that may pass (timeout, connection reset, 5xx): the worker fails
-- the import once they reach its limit instead of leaving it running.
-- The row-level security of lead_imports covers the new columns.

ALTER TABLE lead_imports
  ADD COLUMN source_url text
    CHECK (source_url IS NULL OR (source_url LIKE 'https://%' AND length(source_url) <= 2048)),
  ADD COLUMN fetched_at timestamptz,
  ADD COLUMN fetch_attempts integer NOT NULL DEFAULT 0 CHECK (fetch_attempts >= 0);
