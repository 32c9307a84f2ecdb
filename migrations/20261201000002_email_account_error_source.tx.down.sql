ALTER TABLE email_accounts DROP COLUMN IF EXISTS error_source;
