DROP FUNCTION IF EXISTS auth_use_user_token(bytea, text, text);
DROP FUNCTION IF EXISTS auth_user_token(bytea);
DROP FUNCTION IF EXISTS auth_issue_user_token(text, text, uuid, bytea, timestamptz);
DROP TABLE IF EXISTS user_tokens;
ALTER TABLE users DROP COLUMN IF EXISTS email_verified_at;
