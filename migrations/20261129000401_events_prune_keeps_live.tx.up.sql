-- Retention never takes an event a webhook endpoint is still to receive:
-- an event with a message pending or being sent stays until the message
-- succeeds or fails (its retries span about three days, and a Retry-After
-- may add a day), however short EVENTS_RETENTION is. And the service
-- (which runs this as the RLS-bound app role) cannot ask for more than the
-- shortest retention the configuration accepts: a cutoff later than a day
-- ago is taken as a day ago, so no caller erases the organisations' recent
-- history.
CREATE OR REPLACE FUNCTION maint_prune_events(p_before timestamptz, p_limit integer)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE n bigint;
BEGIN
  DELETE FROM events WHERE id IN (
    SELECT e.id FROM events e
     WHERE e.occurred_at < least(p_before, now() - interval '24 hours')
       AND NOT EXISTS (SELECT 1 FROM webhook_messages m
                        WHERE m.event_id = e.id AND m.status IN ('pending', 'sending'))
     ORDER BY e.id LIMIT greatest(p_limit, 0));
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
