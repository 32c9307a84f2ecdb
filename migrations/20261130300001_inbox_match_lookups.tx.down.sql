DROP INDEX IF EXISTS inbox_messages_org_outbound_message_id_idx;

--bun:split

DROP STATISTICS IF EXISTS leads_lower_email_stats;
