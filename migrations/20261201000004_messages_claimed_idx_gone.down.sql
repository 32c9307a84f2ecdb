CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_org_claimed_idx ON messages (org_id, claimed_at) WHERE claimed_at IS NOT NULL;
