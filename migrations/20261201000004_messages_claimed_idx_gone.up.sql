-- messages_org_claimed_idx (org_id, claimed_at) served only the caps'
-- counts of what was claimed since a moment; the caps read send_counts
-- now (20261201000003). Every claim and every outcome added an entry to
-- it (claimed_at is set from the claim on). Dropped CONCURRENTLY (no
-- transaction: see migrations.go), so messages stays writable.
DROP INDEX CONCURRENTLY IF EXISTS messages_org_claimed_idx;
