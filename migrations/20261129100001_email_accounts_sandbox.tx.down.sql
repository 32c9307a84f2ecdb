DROP TABLE IF EXISTS sandbox_messages;

--bun:split

DELETE FROM email_accounts WHERE provider = 'sandbox';

--bun:split

ALTER TABLE email_accounts
  ADD COLUMN smtp_secure boolean NOT NULL DEFAULT true,
  ADD COLUMN imap_secure boolean NOT NULL DEFAULT true;

--bun:split

UPDATE email_accounts SET smtp_secure = (smtp_tls_mode <> 'none'), imap_secure = (imap_tls_mode <> 'none');

--bun:split

ALTER TABLE email_accounts
  DROP COLUMN smtp_tls_mode,
  DROP COLUMN imap_tls_mode,
  DROP COLUMN username,
  DROP COLUMN last_tested_at,
  DROP CONSTRAINT email_accounts_sandbox_provider_check,
  DROP CONSTRAINT email_accounts_provider_check;

--bun:split

ALTER TABLE email_accounts ADD CONSTRAINT email_accounts_provider_check
  CHECK (provider IN ('gmail', 'outlook', 'custom'));
