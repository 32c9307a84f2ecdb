-- Active campaigns with something approved and not yet scheduled: a
-- sequence approved (or a lead approved) after the campaign was
-- activated. The sending engine's dispatcher schedules them every few
-- seconds, so approving while a campaign runs needs nothing else. Across
-- tenants as the RLS-bound app role, hence SECURITY DEFINER; ids only.
CREATE FUNCTION maint_campaigns_to_schedule(p_limit integer)
RETURNS TABLE (org_id uuid, campaign_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT c.org_id, c.id FROM campaigns c
   WHERE c.status = 'active'
     AND EXISTS (
       SELECT 1 FROM sequences s JOIN leads l ON l.org_id = s.org_id AND l.id = s.lead_id
        WHERE s.org_id = c.org_id AND s.campaign_id = c.id AND s.is_approved AND l.is_approved AND NOT s.is_complete
          AND l.unsubscribed_at IS NULL AND l.replied_at IS NULL AND l.status NOT IN ('bounced', 'unsubscribed')
          AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.org_id = s.org_id AND m.sequence_id = s.id))
   LIMIT greatest(p_limit, 0)
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_campaigns_to_schedule(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_campaigns_to_schedule(integer) TO leadpilot_app;
