-- Free-text search that can use its index under row-level security.
--
-- Postgres applies a table's RLS policy before any condition whose
-- functions are not LEAKPROOF, and lower(), || and LIKE are not (only a
-- superuser may mark a function leakproof, and LIKE is not safe to). So,
-- run as the RLS-bound app role, `<search expression> LIKE '%term%'` could
-- never use leads_search_trgm_idx: every search read the whole leads table
-- (every tenant's rows, filtered by the policy afterwards), 1.7-2 s over
-- 1M leads, where the same query as the owner takes 7 ms.
--
-- leads_search() runs the search as the owner (SECURITY DEFINER, so the
-- policy is not applied) and scopes it itself to app_current_org_id(), the
-- very value the policy compares with: it returns ids of the current
-- organisation's leads only, and nothing when no organisation is set. It
-- takes every filter of the list and the keyset (ids below p_before,
-- newest first, at most p_limit; NULL: all), so the caller's page is
-- exactly its result. The query is dynamic SQL so that it is planned with
-- the actual pattern and filters: a rare term is a trigram bitmap scan, a
-- common one the keyset walk of (org_id, id DESC) that stops after a page.
CREATE FUNCTION leads_search(p_pattern text, p_before uuid, p_limit integer,
  p_campaign uuid, p_status text, p_approved boolean, p_country text,
  p_created_from timestamptz, p_created_to timestamptz)
RETURNS TABLE (id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_org uuid := app_current_org_id();
BEGIN
  IF v_org IS NULL THEN
    RETURN;
  END IF;
  RETURN QUERY EXECUTE
    'SELECT l.id FROM leads l
      WHERE l.org_id = $1
        AND lower(coalesce(l.full_name, '''') || '' '' || coalesce(l.email, '''') || '' '' || coalesce(l.company, '''')) LIKE $2'
    || CASE WHEN p_before IS NULL THEN '' ELSE ' AND l.id < $3' END
    || CASE WHEN p_campaign IS NULL THEN '' ELSE ' AND l.campaign_id = $4' END
    || CASE WHEN p_status IS NULL THEN '' ELSE ' AND l.status = $5' END
    || CASE WHEN p_approved IS NULL THEN '' ELSE ' AND l.is_approved = $6' END
    || CASE WHEN p_country IS NULL THEN '' ELSE ' AND l.country = $7' END
    || CASE WHEN p_created_from IS NULL THEN '' ELSE ' AND l.created_at >= $8' END
    || CASE WHEN p_created_to IS NULL THEN '' ELSE ' AND l.created_at < $9' END
    || ' ORDER BY l.id DESC'
    || CASE WHEN p_limit IS NULL THEN '' ELSE ' LIMIT $10' END
    USING v_org, p_pattern, p_before, p_campaign, p_status, p_approved, p_country,
      p_created_from, p_created_to, p_limit;
END
$$;

--bun:split

REVOKE ALL ON FUNCTION leads_search(text, uuid, integer, uuid, text, boolean, text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION leads_search(text, uuid, integer, uuid, text, boolean, text, timestamptz, timestamptz) TO leadpilot_app;
