-- Counting template use. Cloning a system template, or another
-- organisation's public one, bumps its usage_count, but RLS confines
-- leadpilot_app's writes to its own org's rows. This narrow owner-run
-- function does that one increment, and only for a template the caller's
-- organisation can see (the same rule as the templates_select policy).
-- It returns whether a row was counted.
CREATE FUNCTION template_count_use(p_template_id uuid)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH hit AS (
    UPDATE sequence_templates t SET usage_count = t.usage_count + 1
    WHERE t.id = p_template_id AND app_current_org_id() IS NOT NULL
      AND (t.org_id IS NULL OR t.is_public OR t.org_id = app_current_org_id())
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM hit)
$$;

--bun:split

REVOKE ALL ON FUNCTION template_count_use(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION template_count_use(uuid) TO leadpilot_app;

--bun:split

-- The catalogue is listed most-used first, then by name.
CREATE INDEX sequence_templates_usage_name_idx ON sequence_templates (usage_count DESC, name, id);
