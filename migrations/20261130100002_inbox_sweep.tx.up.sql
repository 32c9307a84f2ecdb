-- The inbox sweep's scan of inbound messages still unclassified a while
-- after they arrived (their classification task was lost, or failed past
-- its retries), across tenants: SECURITY DEFINER like the dispatcher's
-- scans. Ids only.
CREATE FUNCTION maint_unclassified_inbox(p_before timestamptz, p_limit integer)
RETURNS TABLE (org_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.org_id, i.id FROM inbox_messages i
  WHERE i.classification IS NULL AND i.direction = 'inbound' AND i.created_at < p_before
  ORDER BY i.created_at
  LIMIT greatest(p_limit, 0)
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_unclassified_inbox(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_unclassified_inbox(timestamptz, integer) TO leadpilot_app;

--bun:split

-- Its index: the unclassified are few, ordered by arrival across tenants.
CREATE INDEX inbox_messages_unclassified_created_idx ON inbox_messages (created_at) WHERE classification IS NULL AND direction = 'inbound';

--bun:split

DROP INDEX IF EXISTS inbox_messages_unclassified_idx;
