-- Fixes from review: ending a removed member's sessions, fencing
-- idempotency claims, and clamping the cross-tenant purge.

-- A removed member's sessions must end. The admin removing them cannot see
-- the member's refresh tokens (refresh_tokens rows are visible only to
-- their own user), so this narrow SECURITY DEFINER function revokes them,
-- and only in the organisation the transaction acts for.
CREATE FUNCTION auth_end_member_sessions(p_user_id uuid)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE n bigint;
BEGIN
  IF app_current_org_id() IS NULL THEN
    RAISE EXCEPTION 'auth_end_member_sessions needs app.org_id set';
  END IF;
  UPDATE refresh_tokens SET revoked_at = now()
  WHERE org_id = app_current_org_id() AND user_id = p_user_id AND revoked_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;

--bun:split

REVOKE ALL ON FUNCTION auth_end_member_sessions(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_end_member_sessions(uuid) TO leadpilot_app;

--bun:split

-- Each claim of an idempotency key gets its own id: only the claim holder
-- may complete or release it, so a request that outlived its lock cannot
-- undo the retry that took over.
ALTER TABLE idempotency_keys ADD COLUMN claim_id uuid;

--bun:split

-- The purge runs as the owner across every tenant; the caller must not be
-- able to widen it. A time in the future or a negative retention is
-- clamped, so the worst a caller can do is what the schedule does.
CREATE OR REPLACE FUNCTION maint_purge_expired(p_now timestamptz, p_keep interval)
RETURNS TABLE (kind text, deleted bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  n bigint;
  v_now timestamptz := least(p_now, now());
  v_keep interval := greatest(p_keep, interval '0');
BEGIN
  DELETE FROM refresh_tokens WHERE expires_at < v_now - v_keep
    OR (revoked_at IS NOT NULL AND revoked_at < v_now - v_keep);
  GET DIAGNOSTICS n = ROW_COUNT; kind := 'refresh_tokens'; deleted := n; RETURN NEXT;

  DELETE FROM invites WHERE accepted_at IS NULL AND (expires_at < v_now - v_keep
    OR (revoked_at IS NOT NULL AND revoked_at < v_now - v_keep));
  GET DIAGNOSTICS n = ROW_COUNT; kind := 'invites'; deleted := n; RETURN NEXT;

  DELETE FROM idempotency_keys WHERE expires_at < v_now;
  GET DIAGNOSTICS n = ROW_COUNT; kind := 'idempotency_keys'; deleted := n; RETURN NEXT;
END
$$;
