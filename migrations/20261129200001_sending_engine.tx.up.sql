-- The sending engine (internal/sending): which mailboxes a campaign sends
-- from, why a due message is held back, and the cross-tenant scans of the
-- dispatcher and the reaper.

-- Inbox rotation: a campaign sends from one or more of the organisation's
-- email accounts. A lead's first step picks one (round robin in lead
-- order); its follow-ups leave from the same one (messages.email_account_id
-- of its step 1).
CREATE TABLE campaign_email_accounts (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  campaign_id uuid NOT NULL,
  email_account_id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, campaign_id, email_account_id),
  FOREIGN KEY (org_id, campaign_id) REFERENCES campaigns (org_id, id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, email_account_id) REFERENCES email_accounts (org_id, id) ON DELETE CASCADE
);

--bun:split

CREATE INDEX campaign_email_accounts_account_idx ON campaign_email_accounts (org_id, email_account_id);

--bun:split

GRANT SELECT, INSERT, UPDATE, DELETE ON campaign_email_accounts TO leadpilot_app;

--bun:split

ALTER TABLE campaign_email_accounts ENABLE ROW LEVEL SECURITY;

--bun:split

CREATE POLICY org_isolation ON campaign_email_accounts
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());

--bun:split

-- Why a message that is due is not sent (yet): a machine-readable reason,
-- shown on the message and the lead. NULL when nothing holds it back.
ALTER TABLE messages ADD COLUMN blocked_reason text CHECK (blocked_reason IN (
  'outside_window', 'account_cap', 'account_gap', 'recipient_domain_cap', 'sending_domain_cap', 'campaign_daily_cap',
  'account_inactive', 'no_account', 'campaign_paused',
  'lead_replied', 'lead_unsubscribed', 'lead_bounced', 'suppressed', 'send_failed'));

--bun:split

-- A mailbox's next send may not leave before next_send_at: the minimum gap
-- with jitter between two sends, so a mailbox never sends in bursts
-- (receivers score bursts as bulk mail). Sandbox mailboxes have none.
ALTER TABLE email_accounts ADD COLUMN next_send_at timestamptz;

--bun:split

-- The dispatcher's claim: due messages of active campaigns, oldest first,
-- due at p_now (the engine's clock, so tests can move it), at most
-- p_limit, moved from scheduled to queued in one statement; SKIP
-- LOCKED so several dispatchers never claim the same one. It runs across
-- tenants as the RLS-bound app role, hence SECURITY DEFINER (like
-- maint_purge_expired); it returns ids only. A message of a paused
-- campaign stays scheduled (resuming reschedules it).
CREATE FUNCTION maint_claim_due_messages(p_limit integer, p_now timestamptz)
RETURNS TABLE (org_id uuid, email_account_id uuid, id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH due AS (
    SELECT m.id FROM messages m
    WHERE m.status = 'scheduled' AND m.scheduled_for <= p_now
      AND EXISTS (SELECT 1 FROM campaigns c WHERE c.org_id = m.org_id AND c.id = m.campaign_id AND c.status = 'active')
    ORDER BY m.scheduled_for
    LIMIT greatest(p_limit, 0)
    FOR UPDATE OF m SKIP LOCKED
  )
  UPDATE messages m SET status = 'queued', updated_at = now()
  FROM due WHERE m.id = due.id
  RETURNING m.org_id, m.email_account_id, m.id
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_claim_due_messages(integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_claim_due_messages(integer, timestamptz) TO leadpilot_app;

--bun:split

-- Messages queued for longer than p_older_than: their send task was lost
-- (Redis flushed, an enqueue that failed). The dispatcher enqueues them
-- again; the send task's claim (queued -> sending, conditional) makes a
-- second delivery of a task send nothing.
CREATE FUNCTION maint_stale_queued_messages(p_older_than interval, p_limit integer)
RETURNS TABLE (org_id uuid, email_account_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT m.org_id, m.email_account_id, m.id FROM messages m
   WHERE m.status = 'queued' AND m.updated_at < now() - greatest(p_older_than, interval '0')
   ORDER BY m.updated_at
   LIMIT greatest(p_limit, 0)
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_stale_queued_messages(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_stale_queued_messages(interval, integer) TO leadpilot_app;

--bun:split

-- Messages left sending by a worker that died between its claim and its
-- record: the reaper marks them failed with delivery_uncertain (the
-- provider may have accepted them) and never sends them again.
CREATE FUNCTION maint_stuck_sending_messages(p_older_than interval, p_limit integer)
RETURNS TABLE (org_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT m.org_id, m.id FROM messages m
   WHERE m.status = 'sending' AND m.claimed_at < now() - greatest(p_older_than, interval '0')
   ORDER BY m.claimed_at
   LIMIT greatest(p_limit, 0)
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_stuck_sending_messages(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_stuck_sending_messages(interval, integer) TO leadpilot_app;

--bun:split

-- Whether a campaign still has something to send (its completion check,
-- after every send batch) without reading its whole history.
CREATE INDEX messages_org_campaign_open_idx ON messages (org_id, campaign_id)
  WHERE status IN ('scheduled', 'queued', 'sending');

--bun:split

-- The caps beyond the mailbox count what was claimed since a moment (the
-- day's start, the last hour).
CREATE INDEX messages_org_claimed_idx ON messages (org_id, claimed_at) WHERE claimed_at IS NOT NULL;

--bun:split

-- The dispatcher touches the messages it enqueues again, so they wait
-- another RequeueAfter before the next try.
CREATE FUNCTION maint_touch_queued_messages(p_ids uuid[])
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE messages SET updated_at = now() WHERE id = ANY(p_ids) AND status = 'queued'
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_touch_queued_messages(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_touch_queued_messages(uuid[]) TO leadpilot_app;
