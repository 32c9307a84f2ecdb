-- Whether a campaign still has a message to send (scheduled, queued or
-- sending): the sending engine's completion check after a batch. It must
-- read messages_org_campaign_open_idx. As a plain EXISTS the planner chose
-- a sequential scan that stops at the first open row, since the
-- statistics count many open messages; but the open rows are the newest
-- and the scan read every message already sent before reaching one — the
-- whole history of the table, once per send batch. enable_seqscan = off
-- for this one statement makes the partial index the plan. Runs as the
-- caller (row-level security applies).
CREATE FUNCTION campaign_has_open_messages(p_org uuid, p_campaign uuid)
RETURNS boolean
LANGUAGE sql STABLE SET enable_seqscan = off AS $$
  SELECT EXISTS (SELECT 1 FROM messages
                  WHERE org_id = p_org AND campaign_id = p_campaign AND status IN ('scheduled', 'queued', 'sending'))
$$;

--bun:split

REVOKE ALL ON FUNCTION campaign_has_open_messages(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION campaign_has_open_messages(uuid, uuid) TO leadpilot_app;
