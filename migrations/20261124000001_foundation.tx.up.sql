-- Foundation: the application role, tenancy helpers, organisations, users and
-- everything authentication needs. Runs as the schema owner (migrations);
-- the API and workers run as leadpilot_app, which row-level security binds
-- to the organisation set for the transaction (app.org_id).

--bun:split

-- The RLS-bound role. NOLOGIN: the service logs in as its own user and
-- SET ROLEs to it, or logs in as a member of it. Roles are cluster-wide, so
-- create it only once.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'leadpilot_app') THEN
    CREATE ROLE leadpilot_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;

--bun:split

-- The owner may SET ROLE to the app role (a superuser can anyway).
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'leadpilot_app', 'MEMBER') THEN
    EXECUTE format('GRANT leadpilot_app TO %I', current_user);
  END IF;
END
$$;

--bun:split

GRANT USAGE ON SCHEMA public TO leadpilot_app;

--bun:split

-- app_current_org_id is the organisation this transaction acts for, set by
-- the service with set_config('app.org_id', <uuid>, true). Unset (or reset
-- to '' at transaction end) means NULL, and NULL matches no row.
CREATE FUNCTION app_current_org_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT NULLIF(current_setting('app.org_id', true), '')::uuid
$$;

--bun:split

-- app_current_user_id is the signed-in user, when there is one (API keys
-- have none).
CREATE FUNCTION app_current_user_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT NULLIF(current_setting('app.user_id', true), '')::uuid
$$;

--bun:split

CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END
$$;

--bun:split

CREATE TABLE organizations (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 80),

  -- What the AI writes on behalf of: company_name, industry, target_audience,
  -- value_proposition, tone, key_pain_points[], case_studies[], cta,
  -- sender_name, sender_title.
  business_context jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(business_context) = 'object'),

  llm_provider text NOT NULL DEFAULT 'builtin'
    CHECK (llm_provider IN ('builtin', 'anthropic', 'openai', 'gemini', 'deepseek', 'groq')),
  llm_model text,
  llm_api_key_encrypted text, -- secrets.Keyring ciphertext, never returned
  llm_settings jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(llm_settings) = 'object'),

  settings jsonb NOT NULL DEFAULT '{
    "timezone": "UTC",
    "default_sequence_length": 3,
    "send_window_start": "09:00",
    "send_window_end": "17:00",
    "send_days": ["monday", "tuesday", "wednesday", "thursday", "friday"]
  }'::jsonb CHECK (jsonb_typeof(settings) = 'object'),

  subscription_tier text NOT NULL DEFAULT 'free' CHECK (subscription_tier IN ('free', 'pro', 'enterprise')),
  subscription_status text NOT NULL DEFAULT 'active'
    CHECK (subscription_status IN ('active', 'trialing', 'past_due', 'canceled', 'unpaid', 'incomplete')),
  stripe_customer_id text UNIQUE,
  stripe_subscription_id text UNIQUE,

  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

--bun:split

-- Users are people; they belong to organisations through memberships (the
-- spec's users.org_id/role allowed one organisation per person, which makes
-- "an existing user accepts an invite" impossible).
CREATE TABLE users (
  id uuid PRIMARY KEY,
  email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320),
  password_hash text NOT NULL,
  full_name text NOT NULL DEFAULT '' CHECK (length(full_name) <= 200),
  avatar_url text,
  notification_preferences jsonb NOT NULL DEFAULT '{
    "email_replies": true,
    "whatsapp_replies": true,
    "sms_replies": true,
    "daily_digest": true,
    "browser_push": true
  }'::jsonb,
  last_active_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE UNIQUE INDEX users_email_key ON users (email);

--bun:split

CREATE TABLE memberships (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, user_id)
);

--bun:split

CREATE INDEX memberships_org_id_id_idx ON memberships (org_id, id DESC);

--bun:split

CREATE INDEX memberships_user_id_idx ON memberships (user_id);

--bun:split

-- Refresh tokens: opaque secrets stored as SHA-256 hashes. Each login starts
-- a family; every refresh marks the old token used and issues the next one
-- in the same family. Presenting a used token again revokes the family.
CREATE TABLE refresh_tokens (
  id uuid PRIMARY KEY,
  family_id uuid NOT NULL,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  revoked_at timestamptz,
  user_agent text,
  ip inet,
  created_at timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

--bun:split

CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

--bun:split

CREATE TABLE invites (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  email text NOT NULL CHECK (email = lower(email)),
  role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
  token_hash bytea NOT NULL UNIQUE,
  invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
  expires_at timestamptz NOT NULL,
  accepted_at timestamptz,
  accepted_by uuid REFERENCES users (id) ON DELETE SET NULL,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

--bun:split

-- One open invite per address and organisation.
CREATE UNIQUE INDEX invites_open_email_key ON invites (org_id, email)
  WHERE accepted_at IS NULL AND revoked_at IS NULL;

--bun:split

CREATE INDEX invites_org_id_id_idx ON invites (org_id, id DESC);

--bun:split

-- API keys for integrators: shown once, stored as SHA-256 of the secret.
CREATE TABLE api_keys (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  prefix text NOT NULL,
  key_hash bytea NOT NULL UNIQUE,
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  last_used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE INDEX api_keys_org_id_id_idx ON api_keys (org_id, id DESC);

--bun:split

-- Stored responses for Idempotency-Key. status_code NULL means the first
-- request is still running: a concurrent duplicate gets 409.
CREATE TABLE idempotency_keys (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  principal text NOT NULL,
  key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  method text NOT NULL,
  path text NOT NULL,
  request_hash bytea NOT NULL,
  status_code integer,
  response_headers jsonb,
  response_body bytea,
  locked_until timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, principal, key)
);

--bun:split

CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

--bun:split

CREATE TRIGGER organizations_updated_at BEFORE UPDATE ON organizations FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER memberships_updated_at BEFORE UPDATE ON memberships FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER invites_updated_at BEFORE UPDATE ON invites FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER api_keys_updated_at BEFORE UPDATE ON api_keys FOR EACH ROW EXECUTE FUNCTION set_updated_at();

--bun:split

GRANT SELECT, INSERT, UPDATE, DELETE ON organizations, users, memberships, refresh_tokens, invites, api_keys, idempotency_keys TO leadpilot_app;

--bun:split

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE invites ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;

--bun:split

CREATE POLICY org_isolation ON organizations
  USING (id = app_current_org_id()) WITH CHECK (id = app_current_org_id());

--bun:split

-- A user row is visible to itself and to the organisations it belongs to;
-- anyone may create one (signup, accepting an invite); only the user edits it.
CREATE POLICY users_select ON users FOR SELECT
  USING (id = app_current_user_id()
         OR id IN (SELECT m.user_id FROM memberships m WHERE m.org_id = app_current_org_id()));
CREATE POLICY users_insert ON users FOR INSERT WITH CHECK (id = app_current_user_id());
CREATE POLICY users_update ON users FOR UPDATE
  USING (id = app_current_user_id()) WITH CHECK (id = app_current_user_id());

--bun:split

CREATE POLICY org_isolation ON memberships
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
CREATE POLICY org_isolation ON invites
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
CREATE POLICY org_isolation ON api_keys
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
CREATE POLICY org_isolation ON idempotency_keys
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
CREATE POLICY user_isolation ON refresh_tokens
  USING (org_id = app_current_org_id() AND user_id = app_current_user_id())
  WITH CHECK (org_id = app_current_org_id() AND user_id = app_current_user_id());

--bun:split

-- Lookups that must happen before a tenant is known (logging in, presenting
-- a refresh token, an API key or an invite token). Each is SECURITY DEFINER
-- (runs as the owner, whom RLS does not bind), takes a secret's hash or an
-- email, and returns only what authentication needs.
CREATE FUNCTION auth_user_by_email(p_email text)
RETURNS TABLE (id uuid, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT u.id, u.password_hash FROM users u WHERE u.email = lower(p_email)
$$;

CREATE FUNCTION auth_memberships(p_user_id uuid)
RETURNS TABLE (org_id uuid, role text, created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT m.org_id, m.role, m.created_at FROM memberships m
  WHERE m.user_id = p_user_id ORDER BY m.created_at, m.org_id
$$;

CREATE FUNCTION auth_refresh_token(p_hash bytea)
RETURNS TABLE (id uuid, family_id uuid, user_id uuid, org_id uuid, expires_at timestamptz, used_at timestamptz, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.id, t.family_id, t.user_id, t.org_id, t.expires_at, t.used_at, t.revoked_at
  FROM refresh_tokens t WHERE t.token_hash = p_hash
$$;

CREATE FUNCTION auth_api_key(p_hash bytea)
RETURNS TABLE (id uuid, org_id uuid, revoked_at timestamptz, last_used_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT k.id, k.org_id, k.revoked_at, k.last_used_at FROM api_keys k WHERE k.key_hash = p_hash
$$;

CREATE FUNCTION auth_invite(p_hash bytea)
RETURNS TABLE (id uuid, org_id uuid, email text, role text, expires_at timestamptz, accepted_at timestamptz, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT i.id, i.org_id, i.email, i.role, i.expires_at, i.accepted_at, i.revoked_at
  FROM invites i WHERE i.token_hash = p_hash
$$;

--bun:split

-- Maintenance across all tenants: drop what can no longer be used. Returns
-- how many rows of each kind went.
CREATE FUNCTION maint_purge_expired(p_now timestamptz, p_keep interval)
RETURNS TABLE (kind text, deleted bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE n bigint;
BEGIN
  DELETE FROM refresh_tokens WHERE expires_at < p_now - p_keep
    OR (revoked_at IS NOT NULL AND revoked_at < p_now - p_keep);
  GET DIAGNOSTICS n = ROW_COUNT; kind := 'refresh_tokens'; deleted := n; RETURN NEXT;

  DELETE FROM invites WHERE accepted_at IS NULL AND (expires_at < p_now - p_keep
    OR (revoked_at IS NOT NULL AND revoked_at < p_now - p_keep));
  GET DIAGNOSTICS n = ROW_COUNT; kind := 'invites'; deleted := n; RETURN NEXT;

  DELETE FROM idempotency_keys WHERE expires_at < p_now;
  GET DIAGNOSTICS n = ROW_COUNT; kind := 'idempotency_keys'; deleted := n; RETURN NEXT;
END
$$;

--bun:split

REVOKE ALL ON FUNCTION auth_user_by_email(text), auth_memberships(uuid), auth_refresh_token(bytea),
  auth_api_key(bytea), auth_invite(bytea), maint_purge_expired(timestamptz, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_user_by_email(text), auth_memberships(uuid), auth_refresh_token(bytea),
  auth_api_key(bytea), auth_invite(bytea), maint_purge_expired(timestamptz, interval) TO leadpilot_app;

--bun:split

-- The service checks at start that the schema is current; it reads bun's
-- table of applied migrations as the app role.
GRANT SELECT ON bun_migrations TO leadpilot_app;
