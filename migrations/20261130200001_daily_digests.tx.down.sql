DROP FUNCTION IF EXISTS maint_daily_digests_due(timestamptz, integer, uuid, uuid, uuid, integer);
DROP FUNCTION IF EXISTS app_zone_or_utc(text);

--bun:split

DROP INDEX IF EXISTS messages_org_sent_at_idx;
DROP INDEX IF EXISTS inbox_messages_org_inbound_created_idx;

--bun:split

DROP TABLE IF EXISTS daily_digests;
