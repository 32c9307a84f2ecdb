DROP FUNCTION IF EXISTS maint_stale_row_runs(interval, integer);

--bun:split

CREATE FUNCTION maint_stale_lead_imports(p_older_than interval, p_limit integer)
RETURNS TABLE (org_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.org_id, i.id FROM lead_imports i
   WHERE i.status = 'queued' AND i.created_at < now() - greatest(p_older_than, interval '0')
   ORDER BY i.created_at
   LIMIT greatest(p_limit, 0)
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_stale_lead_imports(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_stale_lead_imports(interval, integer) TO leadpilot_app;
