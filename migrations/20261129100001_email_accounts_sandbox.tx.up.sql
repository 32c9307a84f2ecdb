-- Email accounts: a fourth provider, `sandbox` (a mailbox that captures
-- what we send and lets a person inject replies, so the product can be
-- tried without a real mailbox), TLS modes instead of the secure booleans,
-- the login name, and the sandbox mailbox itself.
--
-- The sandbox column stays and must agree with the provider (the check
-- below): the sending engine may branch on either, and provider is what the
-- API shows and filters by.
--
-- smtp_secure / imap_secure could not say "STARTTLS" apart from "implicit
-- TLS" (port 587 vs 465), so they are replaced by a TLS mode:
--   starttls: plain connect, then STARTTLS, which must succeed;
--   tls:      TLS from the first byte (SMTPS 465, IMAPS 993);
--   none:     no TLS at all (local test servers only).

ALTER TABLE email_accounts DROP CONSTRAINT email_accounts_provider_check;

--bun:split

ALTER TABLE email_accounts ADD CONSTRAINT email_accounts_provider_check
  CHECK (provider IN ('gmail', 'outlook', 'custom', 'sandbox'));

--bun:split

ALTER TABLE email_accounts ADD CONSTRAINT email_accounts_sandbox_provider_check
  CHECK (sandbox = (provider = 'sandbox'));

--bun:split

ALTER TABLE email_accounts
  ADD COLUMN smtp_tls_mode text NOT NULL DEFAULT 'starttls' CHECK (smtp_tls_mode IN ('starttls', 'tls', 'none')),
  ADD COLUMN imap_tls_mode text NOT NULL DEFAULT 'tls' CHECK (imap_tls_mode IN ('starttls', 'tls', 'none')),
  -- The SMTP/IMAP login of a custom account (the password is
  -- credentials_encrypted); not a secret, so the API shows it.
  ADD COLUMN username text CHECK (length(username) BETWEEN 1 AND 320),
  -- When POST /v1/email-accounts/{id}/test last ran.
  ADD COLUMN last_tested_at timestamptz,
  DROP COLUMN smtp_secure,
  DROP COLUMN imap_secure;

--bun:split

-- The sandbox mailbox: what a sandbox account "sent" (outbound) and the
-- replies a person injected (inbound), as raw RFC 5322 messages with the
-- headers a reader needs copied out. The inbox sync reads the inbound ones.
CREATE TABLE sandbox_messages (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  email_account_id uuid NOT NULL,
  direction text NOT NULL CHECK (direction IN ('outbound', 'inbound')),
  raw bytea NOT NULL CHECK (octet_length(raw) BETWEEN 1 AND 26214400),
  from_address text NOT NULL,
  to_addresses text[] NOT NULL DEFAULT '{}',
  subject text NOT NULL DEFAULT '',
  message_id text,
  in_reply_to text,
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (org_id, email_account_id) REFERENCES email_accounts (org_id, id) ON DELETE CASCADE
);

--bun:split

CREATE INDEX sandbox_messages_account_idx ON sandbox_messages (org_id, email_account_id, id DESC);

--bun:split

GRANT SELECT, INSERT, UPDATE, DELETE ON sandbox_messages TO leadpilot_app;

--bun:split

ALTER TABLE sandbox_messages ENABLE ROW LEVEL SECURITY;

--bun:split

CREATE POLICY org_isolation ON sandbox_messages
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
