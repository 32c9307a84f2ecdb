-- The unfinished rows of the row-run tasks (internal/jobs rowRun): lead
-- imports and sequence generation runs queued or running for longer than
-- p_older_than (clamped at zero), across all tenants, oldest first, at
-- most p_limit of them. The row-run sweep enqueues their runs again: a
-- lost enqueue leaves a row queued, a task Redis lost leaves it running;
-- a row a worker still holds is protected by its task id (the enqueue is
-- refused). SECURITY DEFINER for the RLS-bound app role, like
-- maint_purge_expired; ids only. Replaces maint_stale_lead_imports.
CREATE FUNCTION maint_stale_row_runs(p_older_than interval, p_limit integer)
RETURNS TABLE (kind text, org_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT kind, org_id, id FROM (
    SELECT 'lead_import' AS kind, i.org_id, i.id, i.created_at FROM lead_imports i
     WHERE i.status IN ('queued', 'running') AND i.created_at < now() - greatest(p_older_than, interval '0')
    UNION ALL
    SELECT 'sequence_generation', g.org_id, g.id, g.created_at FROM sequence_generations g
     WHERE g.status IN ('queued', 'running') AND g.created_at < now() - greatest(p_older_than, interval '0')
  ) r
  ORDER BY created_at
  LIMIT greatest(p_limit, 0)
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_stale_row_runs(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_stale_row_runs(interval, integer) TO leadpilot_app;

--bun:split

DROP FUNCTION IF EXISTS maint_stale_lead_imports(interval, integer);
