DROP FUNCTION IF EXISTS maint_mailboxes_to_sync(timestamptz, integer);

--bun:split

ALTER TABLE messages DROP CONSTRAINT messages_blocked_reason_check;

--bun:split

UPDATE messages SET blocked_reason = NULL WHERE blocked_reason IN ('reply_sync_broken', 'lead_out_of_office', 'soft_bounce');

--bun:split

ALTER TABLE messages ADD CONSTRAINT messages_blocked_reason_check CHECK (blocked_reason IN (
  'outside_window', 'account_cap', 'account_gap', 'recipient_domain_cap', 'sending_domain_cap', 'campaign_daily_cap',
  'account_inactive', 'no_account', 'campaign_paused',
  'lead_replied', 'lead_unsubscribed', 'lead_bounced', 'suppressed', 'send_failed'));

--bun:split

ALTER TABLE messages DROP COLUMN IF EXISTS soft_bounces, DROP COLUMN IF EXISTS complained_at;

--bun:split

DROP INDEX IF EXISTS inbox_messages_unclassified_idx;

--bun:split

DROP INDEX IF EXISTS inbox_messages_org_unmatched_idx;

--bun:split

DROP INDEX IF EXISTS inbox_messages_org_inbox_thread_idx;

--bun:split

ALTER TABLE inbox_messages
  DROP CONSTRAINT IF EXISTS inbox_messages_thread_fkey,
  DROP COLUMN IF EXISTS inbox_thread_id, DROP COLUMN IF EXISTS kind, DROP COLUMN IF EXISTS bounce,
  DROP COLUMN IF EXISTS return_date, DROP COLUMN IF EXISTS clean_text, DROP COLUMN IF EXISTS classification_manual,
  DROP COLUMN IF EXISTS classified_by, DROP COLUMN IF EXISTS delivery_status, DROP COLUMN IF EXISTS delivery_error,
  DROP COLUMN IF EXISTS sent_by;

--bun:split

DROP TABLE IF EXISTS inbox_threads;

--bun:split

ALTER TABLE email_accounts
  DROP COLUMN IF EXISTS imap_last_success_at, DROP COLUMN IF EXISTS imap_last_attempt_at, DROP COLUMN IF EXISTS imap_last_error,
  DROP COLUMN IF EXISTS imap_failures, DROP COLUMN IF EXISTS imap_failing_since, DROP COLUMN IF EXISTS imap_next_sync_at,
  DROP COLUMN IF EXISTS imap_lease_until, DROP COLUMN IF EXISTS imap_messages_synced, DROP COLUMN IF EXISTS sending_paused_reason;
