DROP FUNCTION IF EXISTS webhook_due_endpoints(timestamptz, integer);
DROP FUNCTION IF EXISTS maint_prune_events(timestamptz, integer);
DROP TABLE IF EXISTS webhook_attempts;
DROP TABLE IF EXISTS webhook_messages;
DROP TABLE IF EXISTS webhook_endpoints;
DROP TABLE IF EXISTS events;
