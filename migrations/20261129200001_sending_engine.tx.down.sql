DROP FUNCTION IF EXISTS maint_touch_queued_messages(uuid[]);

--bun:split

DROP INDEX IF EXISTS messages_org_claimed_idx;

--bun:split

DROP INDEX IF EXISTS messages_org_campaign_open_idx;

--bun:split

DROP FUNCTION IF EXISTS maint_stuck_sending_messages(interval, integer);

--bun:split

DROP FUNCTION IF EXISTS maint_stale_queued_messages(interval, integer);

--bun:split

DROP FUNCTION IF EXISTS maint_claim_due_messages(integer, timestamptz);

--bun:split

ALTER TABLE messages DROP COLUMN IF EXISTS blocked_reason;

--bun:split

ALTER TABLE email_accounts DROP COLUMN IF EXISTS next_send_at;

--bun:split

DROP TABLE IF EXISTS campaign_email_accounts;
