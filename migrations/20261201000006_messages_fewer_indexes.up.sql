-- Two fewer index entries per message write. A send writes each message
-- three times (the next step's insert, the claim, the outcome) and none
-- of them can be heap-only (status is in the partial indexes'
-- predicates), so each adds an entry to every index whose predicate
-- holds; measured (BenchmarkSend, 100,000 messages, one index dropped as
-- a what-if, same run): 7 µs of Postgres CPU per entry, some 20 µs per
-- send for each index every write maintains.
--
-- 1. The primary key is (org_id, id), as every query of messages names
--    the organisation (row-level security adds it where a query does
--    not): it replaces both messages_pkey (id) and messages_org_id_id_key
--    (org_id, id DESC), which held the same rows twice. Lists read the
--    new key backwards for newest first. The inbox's foreign key to the
--    message it answers (org_id, outbound_message_id) now references the
--    primary key. The cross-tenant functions of the dispatcher that
--    looked messages up by id alone now pass the organisation too:
--    maint_dispatch_due_messages joins on both, and
--    maint_touch_dispatched_messages takes (org, id) pairs (its one-array
--    form goes: a worker of the previous release fails its requeue step,
--    logged, until it is replaced).
--
-- 2. messages_org_campaign_pending_idx (org_id, campaign_id) holds the
--    scheduled and queued messages only, not those in flight: the claim
--    no longer adds an entry to it. campaign_has_open_messages finds an
--    in-flight message through messages_sending_idx (every in-flight
--    message, of all organisations: a worker's batches, a few thousand
--    at most).
--
-- Not in a transaction: the new indexes are built and the old open one
-- dropped CONCURRENTLY. The swap of the primary key, the drop of
-- messages_org_id_id_key and the foreign key's move are one statement
-- group (one implicit transaction: a brief exclusive lock on messages
-- and inbox_messages); the foreign key is added NOT VALID and validated
-- in the next group, which does not block writes.
-- Each group can run again after a failure (bun runs the whole file
-- again: once the key has been swapped, that builds (org_id, id) once
-- more and swaps it in again, slow but correct); a concurrent build that
-- failed leaves an INVALID index of the new name: drop it and run the
-- migration again.

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS messages_org_id_id_pkey ON messages (org_id, id);

--bun:split

DO $$
BEGIN
  -- Fail rather than queue, with every later query of messages behind
  -- it, for long behind a long transaction: run the migration again.
  PERFORM set_config('lock_timeout', '10s', true);
  ALTER TABLE inbox_messages DROP CONSTRAINT IF EXISTS inbox_messages_org_id_outbound_message_id_fkey;
  IF EXISTS (SELECT 1 FROM pg_class WHERE relname = 'messages_org_id_id_pkey' AND relkind = 'i') THEN
    ALTER TABLE messages DROP CONSTRAINT messages_pkey;
    ALTER TABLE messages ADD CONSTRAINT messages_pkey PRIMARY KEY USING INDEX messages_org_id_id_pkey;
  END IF;
  -- Before the foreign key is added again: it would reference this index.
  DROP INDEX IF EXISTS messages_org_id_id_key;
  ALTER TABLE inbox_messages ADD CONSTRAINT inbox_messages_org_id_outbound_message_id_fkey
    FOREIGN KEY (org_id, outbound_message_id) REFERENCES messages (org_id, id) ON DELETE SET NULL (outbound_message_id) NOT VALID;
END
$$;

--bun:split

ALTER TABLE inbox_messages VALIDATE CONSTRAINT inbox_messages_org_id_outbound_message_id_fkey;

--bun:split

CREATE OR REPLACE FUNCTION maint_dispatch_due_messages(p_limit integer, p_now timestamptz)
RETURNS TABLE (org_id uuid, email_account_id uuid, id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH due AS (
    SELECT m.org_id, m.id FROM messages m
    WHERE m.status = 'scheduled' AND m.scheduled_for <= p_now AND m.dispatched_at IS NULL
      AND EXISTS (SELECT 1 FROM campaigns c WHERE c.org_id = m.org_id AND c.id = m.campaign_id AND c.status = 'active')
    ORDER BY m.scheduled_for
    LIMIT greatest(p_limit, 0)
    FOR UPDATE OF m SKIP LOCKED
  )
  UPDATE messages m SET dispatched_at = now()
  FROM due WHERE m.org_id = due.org_id AND m.id = due.id
  RETURNING m.org_id, m.email_account_id, m.id
$$;

--bun:split

DROP FUNCTION IF EXISTS maint_touch_dispatched_messages(uuid[]);

--bun:split

-- The dispatcher stamps the messages it enqueues again, so they wait
-- another RequeueAfter before the next try: p_orgs[i] is p_ids[i]'s
-- organisation.
CREATE OR REPLACE FUNCTION maint_touch_dispatched_messages(p_orgs uuid[], p_ids uuid[])
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE messages m SET dispatched_at = now()
  FROM unnest(p_orgs, p_ids) AS v(org_id, id)
  WHERE m.org_id = v.org_id AND m.id = v.id AND m.status = 'scheduled' AND m.dispatched_at IS NOT NULL
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_touch_dispatched_messages(uuid[], uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_touch_dispatched_messages(uuid[], uuid[]) TO leadpilot_app;

--bun:split

CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_org_campaign_pending_idx ON messages (org_id, campaign_id)
  WHERE status IN ('scheduled', 'queued');

--bun:split

-- Whether a campaign still has a message to send: scheduled or queued
-- (messages_org_campaign_pending_idx), or in flight (messages_sending_idx:
-- few rows, of every organisation; the campaign is compared with IS NOT
-- DISTINCT FROM, which no index serves, so that messages_org_campaign_idx,
-- the campaign's whole history, is never the way). enable_seqscan = off:
-- see 20261130000002. Runs as the caller (row-level security applies).
CREATE OR REPLACE FUNCTION campaign_has_open_messages(p_org uuid, p_campaign uuid)
RETURNS boolean
LANGUAGE sql STABLE SET enable_seqscan = off AS $$
  SELECT EXISTS (SELECT 1 FROM messages
                  WHERE org_id = p_org AND campaign_id = p_campaign AND status IN ('scheduled', 'queued'))
      OR EXISTS (SELECT 1 FROM messages
                  WHERE status = 'sending' AND claimed_at IS NOT NULL AND org_id = p_org AND campaign_id IS NOT DISTINCT FROM p_campaign)
$$;

--bun:split

DROP INDEX CONCURRENTLY IF EXISTS messages_org_campaign_open_idx;
