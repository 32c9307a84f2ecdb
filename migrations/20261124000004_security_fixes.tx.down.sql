ALTER TABLE idempotency_keys DROP COLUMN IF EXISTS claim_id;
DROP FUNCTION IF EXISTS auth_end_member_sessions(uuid);
-- maint_purge_expired keeps its clamped body: the unclamped one was a defect.
