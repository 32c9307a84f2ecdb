-- The purge as migration 000004 left it (without user_tokens).
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

--bun:split

DROP FUNCTION IF EXISTS auth_use_user_token(bytea, text, text);
DROP FUNCTION IF EXISTS auth_user_token(bytea);
DROP FUNCTION IF EXISTS auth_issue_user_token(text, text, uuid, bytea, timestamptz);
DROP TABLE IF EXISTS user_tokens;
ALTER TABLE users DROP COLUMN IF EXISTS email_verified_at;
