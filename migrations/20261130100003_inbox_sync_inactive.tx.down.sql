CREATE OR REPLACE FUNCTION maint_mailboxes_to_sync(p_now timestamptz, p_limit integer)
RETURNS TABLE (org_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT a.org_id, a.id FROM email_accounts a
  WHERE a.is_active AND a.provider <> 'sandbox'
    AND (a.imap_host IS NOT NULL OR a.provider IN ('gmail', 'outlook'))
    AND (a.imap_next_sync_at IS NULL OR a.imap_next_sync_at <= p_now)
    AND (a.imap_lease_until IS NULL OR a.imap_lease_until <= p_now)
  ORDER BY a.imap_next_sync_at NULLS FIRST
  LIMIT greatest(p_limit, 0)
$$;
