DROP FUNCTION IF EXISTS maint_touch_dispatched_messages(uuid[]);

--bun:split

DROP FUNCTION IF EXISTS maint_stale_dispatched_messages(interval, integer, timestamptz);

--bun:split

DROP FUNCTION IF EXISTS maint_dispatch_due_messages(integer, timestamptz);

--bun:split

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

CREATE FUNCTION maint_touch_queued_messages(p_ids uuid[])
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE messages SET updated_at = now() WHERE id = ANY(p_ids) AND status = 'queued'
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_touch_queued_messages(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_touch_queued_messages(uuid[]) TO leadpilot_app;

--bun:split

ALTER TABLE messages RESET (fillfactor);

--bun:split

UPDATE messages SET status = 'queued' WHERE status = 'scheduled' AND dispatched_at IS NOT NULL;

--bun:split

ALTER TABLE messages DROP COLUMN IF EXISTS dispatched_at;
