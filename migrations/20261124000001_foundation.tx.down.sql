DROP FUNCTION IF EXISTS maint_purge_expired(timestamptz, interval);
DROP FUNCTION IF EXISTS auth_invite(bytea);
DROP FUNCTION IF EXISTS auth_api_key(bytea);
DROP FUNCTION IF EXISTS auth_refresh_token(bytea);
DROP FUNCTION IF EXISTS auth_memberships(uuid);
DROP FUNCTION IF EXISTS auth_user_by_email(text);
DROP TABLE IF EXISTS idempotency_keys;
DROP TABLE IF EXISTS api_keys;
DROP TABLE IF EXISTS invites;
DROP TABLE IF EXISTS refresh_tokens;
DROP POLICY IF EXISTS users_select ON users;
DROP TABLE IF EXISTS memberships;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS organizations;
DROP FUNCTION IF EXISTS set_updated_at();
DROP FUNCTION IF EXISTS app_current_user_id();
DROP FUNCTION IF EXISTS app_current_org_id();
REVOKE USAGE ON SCHEMA public FROM leadpilot_app;
-- The leadpilot_app role is cluster-wide and may serve other databases: it stays.
