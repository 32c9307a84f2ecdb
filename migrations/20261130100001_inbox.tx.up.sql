-- The unified inbox (internal/inbox): IMAP sync state per mailbox,
-- threads (one per lead conversation), what ingest decides about each
-- inbound message (auto-reply, bounce, the user's own classification),
-- replies composed in the inbox, and the engine's new hold-back reasons.

-- Sync you can see: when it last succeeded, its last error, how many runs
-- failed in a row (and since when), when the next run is due (backoff),
-- and a lease so one sync runs per mailbox at a time. A mailbox whose
-- reply sync has been failing too long stops sending
-- (sending_paused_reason = 'reply_sync_broken') until sync recovers:
-- stop-on-reply must never be silently off.
ALTER TABLE email_accounts
  ADD COLUMN imap_last_success_at timestamptz,
  ADD COLUMN imap_last_attempt_at timestamptz,
  ADD COLUMN imap_last_error text,
  ADD COLUMN imap_failures integer NOT NULL DEFAULT 0 CHECK (imap_failures >= 0),
  ADD COLUMN imap_failing_since timestamptz,
  ADD COLUMN imap_next_sync_at timestamptz,
  ADD COLUMN imap_lease_until timestamptz,
  ADD COLUMN imap_messages_synced bigint NOT NULL DEFAULT 0 CHECK (imap_messages_synced >= 0),
  ADD COLUMN sending_paused_reason text CHECK (sending_paused_reason IN ('reply_sync_broken'));

--bun:split

-- One thread per lead conversation: our outbound steps (messages) and the
-- lead's replies (inbox_messages), in order. The row keeps what the list
-- shows and filters by, maintained by ingest in the same transaction as
-- the message it adds; read/starred/archived are the thread's.
CREATE TABLE inbox_threads (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  lead_id uuid NOT NULL,
  campaign_id uuid,
  email_account_id uuid,
  channel text NOT NULL CHECK (channel IN ('email', 'whatsapp', 'sms')),
  subject text,
  snippet text,
  -- The latest inbound message's class (NULL until classified).
  classification text CHECK (classification IN (
    'interested', 'not_interested', 'question',
    'out_of_office', 'bounce', 'unsubscribe', 'other'
  )),
  message_count integer NOT NULL DEFAULT 0 CHECK (message_count >= 0),
  inbound_count integer NOT NULL DEFAULT 0 CHECK (inbound_count >= 0),
  unread_count integer NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
  is_starred boolean NOT NULL DEFAULT false,
  is_archived boolean NOT NULL DEFAULT false,
  last_message_at timestamptz NOT NULL,
  last_inbound_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),

  FOREIGN KEY (org_id, lead_id) REFERENCES leads (org_id, id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, campaign_id) REFERENCES campaigns (org_id, id) ON DELETE SET NULL (campaign_id),
  FOREIGN KEY (org_id, email_account_id) REFERENCES email_accounts (org_id, id)
);

--bun:split

CREATE UNIQUE INDEX inbox_threads_org_id_id_key ON inbox_threads (org_id, id DESC);
CREATE UNIQUE INDEX inbox_threads_org_lead_key ON inbox_threads (org_id, lead_id);
-- The list: newest activity first (the cursor is (last_message_at, id)).
CREATE INDEX inbox_threads_org_recent_idx ON inbox_threads (org_id, last_message_at DESC, id DESC);
CREATE INDEX inbox_threads_org_campaign_idx ON inbox_threads (org_id, campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX inbox_threads_org_account_idx ON inbox_threads (org_id, email_account_id) WHERE email_account_id IS NOT NULL;

--bun:split

GRANT SELECT, INSERT, UPDATE, DELETE ON inbox_threads TO leadpilot_app;

--bun:split

ALTER TABLE inbox_threads ENABLE ROW LEVEL SECURITY;

--bun:split

CREATE POLICY org_isolation ON inbox_threads
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());

--bun:split

-- What ingest decided about a message:
--   inbox_thread_id  its thread (NULL: unmatched, the "other" view);
--   kind             reply (a person wrote it), auto_reply (Auto-Submitted,
--                    out of office…), bounce (a delivery status
--                    notification), complaint (an ARF abuse report), or
--                    outbound (composed in the inbox);
--   bounce           the report: {format, recipients:[{address, status,
--                    action, diagnostic, hard}], original_message_id};
--   return_date      the day an out-of-office says its writer is back;
--   classification_manual / classified_by: the user's own decision,
--                    which the LLM never overwrites;
--   delivery_status  an inbox reply's fate (sending, sent, failed; a
--                    'sending' that never finished is uncertain);
--   clean_text       the text without quoted history.
ALTER TABLE inbox_messages
  ADD COLUMN inbox_thread_id uuid,
  ADD COLUMN kind text NOT NULL DEFAULT 'reply' CHECK (kind IN ('reply', 'auto_reply', 'bounce', 'complaint', 'outbound')),
  ADD COLUMN bounce jsonb CHECK (bounce IS NULL OR jsonb_typeof(bounce) = 'object'),
  ADD COLUMN return_date date,
  ADD COLUMN clean_text text,
  ADD COLUMN classification_manual boolean NOT NULL DEFAULT false,
  ADD COLUMN classified_by uuid REFERENCES users (id) ON DELETE SET NULL,
  ADD COLUMN delivery_status text CHECK (delivery_status IN ('sending', 'sent', 'failed')),
  ADD COLUMN delivery_error text,
  ADD COLUMN sent_by uuid REFERENCES users (id) ON DELETE SET NULL,
  ADD CONSTRAINT inbox_messages_thread_fkey FOREIGN KEY (org_id, inbox_thread_id) REFERENCES inbox_threads (org_id, id) ON DELETE SET NULL (inbox_thread_id);

--bun:split

CREATE INDEX inbox_messages_org_inbox_thread_idx ON inbox_messages (org_id, inbox_thread_id, received_at) WHERE inbox_thread_id IS NOT NULL;
-- The "other" view: what matched no lead, newest first.
CREATE INDEX inbox_messages_org_unmatched_idx ON inbox_messages (org_id, id DESC) WHERE inbox_thread_id IS NULL AND direction = 'inbound';
-- The classification job's queue: inbound messages not classified yet.
CREATE INDEX inbox_messages_unclassified_idx ON inbox_messages (org_id, created_at) WHERE classification IS NULL AND direction = 'inbound';

--bun:split

-- Soft bounces: the message goes out again later; after a few it counts
-- as hard. complained_at: an ARF abuse report named it (the deliverability
-- guard counts complaints with bounces).
ALTER TABLE messages
  ADD COLUMN soft_bounces integer NOT NULL DEFAULT 0 CHECK (soft_bounces >= 0),
  ADD COLUMN complained_at timestamptz;

--bun:split

ALTER TABLE messages DROP CONSTRAINT messages_blocked_reason_check;

--bun:split

ALTER TABLE messages ADD CONSTRAINT messages_blocked_reason_check CHECK (blocked_reason IN (
  'outside_window', 'account_cap', 'account_gap', 'recipient_domain_cap', 'sending_domain_cap', 'campaign_daily_cap',
  'account_inactive', 'no_account', 'campaign_paused',
  'lead_replied', 'lead_unsubscribed', 'lead_bounced', 'suppressed', 'send_failed',
  'reply_sync_broken', 'lead_out_of_office', 'soft_bounce'));

--bun:split

-- The sync scheduler's scan, across tenants (SECURITY DEFINER, like the
-- dispatcher's): active mailboxes that read replies (IMAP configured, or
-- OAuth) and are due, with no live lease. Ids only.
CREATE FUNCTION maint_mailboxes_to_sync(p_now timestamptz, p_limit integer)
RETURNS TABLE (org_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT a.org_id, a.id FROM email_accounts a
  WHERE a.is_active AND a.provider <> 'sandbox'
    AND (a.imap_host IS NOT NULL OR a.provider IN ('gmail', 'outlook'))
    AND (a.imap_next_sync_at IS NULL OR a.imap_next_sync_at <= p_now)
    AND (a.imap_lease_until IS NULL OR a.imap_lease_until <= p_now)
  ORDER BY a.imap_next_sync_at NULLS FIRST
  LIMIT greatest(p_limit, 0)
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_mailboxes_to_sync(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_mailboxes_to_sync(timestamptz, integer) TO leadpilot_app;
