-- Reverse of 20261124000002_outreach_schema.tx.up.sql. Policies, triggers,
-- indexes and grants go with their tables.

--bun:split

DROP TABLE IF EXISTS suppressions;
DROP TABLE IF EXISTS scraping_jobs;
DROP TABLE IF EXISTS notifications;
DROP TABLE IF EXISTS inbox_messages;
DROP TABLE IF EXISTS messages;
DROP TABLE IF EXISTS sequences;
DROP TABLE IF EXISTS leads;

--bun:split

-- autopilot_sessions and campaigns reference each other: cut the later edge
-- first.
ALTER TABLE IF EXISTS autopilot_sessions DROP CONSTRAINT IF EXISTS autopilot_sessions_campaign_fkey;
DROP TABLE IF EXISTS campaigns;
DROP TABLE IF EXISTS autopilot_sessions;

--bun:split

DROP TABLE IF EXISTS messaging_accounts;
DROP TABLE IF EXISTS email_accounts;
DROP TABLE IF EXISTS sequence_templates;
DROP FUNCTION IF EXISTS sequence_template_visible();
