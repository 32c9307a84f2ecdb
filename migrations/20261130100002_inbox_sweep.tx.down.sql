CREATE INDEX IF NOT EXISTS inbox_messages_unclassified_idx ON inbox_messages (org_id, created_at) WHERE classification IS NULL AND direction = 'inbound';

--bun:split

DROP INDEX IF EXISTS inbox_messages_unclassified_created_idx;

--bun:split

DROP FUNCTION IF EXISTS maint_unclassified_inbox(timestamptz, integer);
