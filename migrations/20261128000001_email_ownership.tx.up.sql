-- Proven email ownership: a user's address is verified once they use a
-- secret that was mailed to it (a verification link, a password-reset
-- link, or an invite). Existing users start unverified (NULL): before this
-- migration an address was never proven (an admin could take an invite's
-- token from the API and set the invitee's password), so marking them
-- verified would assert something nobody checked. Unverified users keep
-- signing in and working; they verify with one click before inviting
-- people or creating API keys.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

--bun:split

-- Single-use secrets mailed to a user: email verification and password
-- reset. Stored as the SHA-256 of the secret (internal/token), like
-- refresh tokens and invites. email is the address the secret was sent to:
-- using it proves ownership of that address only while it is still the
-- user's.
CREATE TABLE user_tokens (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose text NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
  email text NOT NULL CHECK (email = lower(email)),
  token_hash bytea NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE INDEX user_tokens_user_purpose_idx ON user_tokens (user_id, purpose, created_at DESC);

--bun:split

CREATE INDEX user_tokens_expires_idx ON user_tokens (expires_at);

--bun:split

GRANT SELECT, INSERT ON user_tokens TO leadpilot_app;

--bun:split

-- A user is no tenant row: in a tenant transaction the app sees and issues
-- only the signed-in user's own tokens (sign-up, resending a verification
-- mail). Everything that happens before anyone is signed in (requesting a
-- reset by address, using a mailed secret) goes through the SECURITY
-- DEFINER functions below, which take an address or a secret's hash.
ALTER TABLE user_tokens ENABLE ROW LEVEL SECURITY;

--bun:split

CREATE POLICY user_isolation ON user_tokens
  USING (user_id = app_current_user_id()) WITH CHECK (user_id = app_current_user_id());

--bun:split

-- auth_issue_user_token stores a token for the user with that address and
-- returns the user's id, or NULL when no user has it (the caller then
-- sends nothing and answers the same).
CREATE FUNCTION auth_issue_user_token(p_email text, p_purpose text, p_id uuid, p_hash bytea, p_expires_at timestamptz)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE v_user uuid; v_email text;
BEGIN
  SELECT u.id, u.email INTO v_user, v_email FROM users u WHERE u.email = lower(p_email);
  IF v_user IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO user_tokens (id, user_id, purpose, email, token_hash, expires_at)
  VALUES (p_id, v_user, p_purpose, v_email, p_hash, p_expires_at);
  RETURN v_user;
END
$$;

--bun:split

-- auth_user_token looks a mailed secret up by its hash: enough to say
-- whether it is unknown, used or expired before doing costly work.
CREATE FUNCTION auth_user_token(p_hash bytea)
RETURNS TABLE (id uuid, user_id uuid, purpose text, expires_at timestamptz, used_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.id, t.user_id, t.purpose, t.expires_at, t.used_at FROM user_tokens t WHERE t.token_hash = p_hash
$$;

--bun:split

-- auth_use_user_token spends a secret of p_purpose and applies its effect,
-- all under one row lock, so a secret works once even when presented
-- twice at the same moment:
--   verify_email    marks the address verified;
--   password_reset  sets p_password_hash, marks the address verified (the
--                   reset link reached it), spends the user's other open
--                   reset secrets and revokes every refresh token of the
--                   user in every organisation: all sessions end.
-- A secret proves nothing once the user's address has changed since it was
-- sent. outcome is ok, unknown, used or expired (user_id is NULL unless ok).
CREATE FUNCTION auth_use_user_token(p_hash bytea, p_purpose text, p_password_hash text)
RETURNS TABLE (outcome text, user_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE t user_tokens%ROWTYPE;
BEGIN
  SELECT * INTO t FROM user_tokens x WHERE x.token_hash = p_hash AND x.purpose = p_purpose FOR UPDATE;
  IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id AND u.email = t.email) THEN
    outcome := 'unknown'; RETURN NEXT; RETURN;
  END IF;
  IF t.used_at IS NOT NULL THEN
    outcome := 'used'; RETURN NEXT; RETURN;
  END IF;
  IF t.expires_at <= now() THEN
    outcome := 'expired'; RETURN NEXT; RETURN;
  END IF;
  IF p_purpose = 'password_reset' AND (p_password_hash IS NULL OR p_password_hash = '') THEN
    RAISE EXCEPTION 'auth_use_user_token: a password reset needs the new password hash';
  END IF;

  UPDATE user_tokens SET used_at = now() WHERE id = t.id;
  UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = t.user_id;
  IF p_purpose = 'password_reset' THEN
    UPDATE users SET password_hash = p_password_hash WHERE id = t.user_id;
    UPDATE user_tokens x SET used_at = now()
      WHERE x.user_id = t.user_id AND x.purpose = 'password_reset' AND x.used_at IS NULL;
    UPDATE refresh_tokens r SET revoked_at = now() WHERE r.user_id = t.user_id AND r.revoked_at IS NULL;
  END IF;
  outcome := 'ok'; user_id := t.user_id; RETURN NEXT;
END
$$;

--bun:split

REVOKE ALL ON FUNCTION auth_issue_user_token(text, text, uuid, bytea, timestamptz), auth_user_token(bytea),
  auth_use_user_token(bytea, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_issue_user_token(text, text, uuid, bytea, timestamptz), auth_user_token(bytea),
  auth_use_user_token(bytea, text, text) TO leadpilot_app;

--bun:split

-- The maintenance purge also drops mailed tokens that can no longer be
-- used (same clamping as before).
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

  DELETE FROM user_tokens WHERE expires_at < v_now - v_keep
    OR (used_at IS NOT NULL AND used_at < v_now - v_keep);
  GET DIAGNOSTICS n = ROW_COUNT; kind := 'user_tokens'; deleted := n; RETURN NEXT;

  DELETE FROM idempotency_keys WHERE expires_at < v_now;
  GET DIAGNOSTICS n = ROW_COUNT; kind := 'idempotency_keys'; deleted := n; RETURN NEXT;
END
$$;
