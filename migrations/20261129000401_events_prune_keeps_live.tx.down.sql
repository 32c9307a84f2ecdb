CREATE OR REPLACE FUNCTION maint_prune_events(p_before timestamptz, p_limit integer)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE n bigint;
BEGIN
  DELETE FROM events WHERE id IN (
    SELECT e.id FROM events e WHERE e.occurred_at < p_before ORDER BY e.id LIMIT greatest(p_limit, 0));
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
