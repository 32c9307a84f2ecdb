-- Back to the primary key (id) beside messages_org_id_id_key, and the
-- open-messages index with the messages in flight. Not in a transaction,
-- as the up migration; a concurrent build that failed leaves an INVALID
-- index (messages_org_id_id_key, messages_id_pkey): drop it and run the
-- migration again.

CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_org_campaign_open_idx ON messages (org_id, campaign_id)
  WHERE status IN ('scheduled', 'queued', 'sending');

--bun:split

CREATE OR REPLACE FUNCTION campaign_has_open_messages(p_org uuid, p_campaign uuid)
RETURNS boolean
LANGUAGE sql STABLE SET enable_seqscan = off AS $$
  SELECT EXISTS (SELECT 1 FROM messages
                  WHERE org_id = p_org AND campaign_id = p_campaign AND status IN ('scheduled', 'queued', 'sending'))
$$;

--bun:split

DROP INDEX CONCURRENTLY IF EXISTS messages_org_campaign_pending_idx;

--bun:split

DROP FUNCTION IF EXISTS maint_touch_dispatched_messages(uuid[], uuid[]);

--bun:split

CREATE OR REPLACE FUNCTION maint_touch_dispatched_messages(p_ids uuid[])
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE messages SET dispatched_at = now() WHERE id = ANY(p_ids) AND status = 'scheduled' AND dispatched_at IS NOT NULL
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_touch_dispatched_messages(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_touch_dispatched_messages(uuid[]) TO leadpilot_app;

--bun:split

CREATE OR REPLACE FUNCTION maint_dispatch_due_messages(p_limit integer, p_now timestamptz)
RETURNS TABLE (org_id uuid, email_account_id uuid, id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH due AS (
    SELECT m.id FROM messages m
    WHERE m.status = 'scheduled' AND m.scheduled_for <= p_now AND m.dispatched_at IS NULL
      AND EXISTS (SELECT 1 FROM campaigns c WHERE c.org_id = m.org_id AND c.id = m.campaign_id AND c.status = 'active')
    ORDER BY m.scheduled_for
    LIMIT greatest(p_limit, 0)
    FOR UPDATE OF m SKIP LOCKED
  )
  UPDATE messages m SET dispatched_at = now()
  FROM due WHERE m.id = due.id
  RETURNING m.org_id, m.email_account_id, m.id
$$;

--bun:split

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS messages_org_id_id_key ON messages (org_id, id DESC);

--bun:split

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS messages_id_pkey ON messages (id);

--bun:split

DO $$
BEGIN
  PERFORM set_config('lock_timeout', '10s', true);
  ALTER TABLE inbox_messages DROP CONSTRAINT IF EXISTS inbox_messages_org_id_outbound_message_id_fkey;
  IF EXISTS (SELECT 1 FROM pg_class WHERE relname = 'messages_id_pkey' AND relkind = 'i') THEN
    ALTER TABLE messages DROP CONSTRAINT messages_pkey;
    ALTER TABLE messages ADD CONSTRAINT messages_pkey PRIMARY KEY USING INDEX messages_id_pkey;
  END IF;
  ALTER TABLE inbox_messages ADD CONSTRAINT inbox_messages_org_id_outbound_message_id_fkey
    FOREIGN KEY (org_id, outbound_message_id) REFERENCES messages (org_id, id) ON DELETE SET NULL (outbound_message_id) NOT VALID;
END
$$;

--bun:split

ALTER TABLE inbox_messages VALIDATE CONSTRAINT inbox_messages_org_id_outbound_message_id_fkey;
