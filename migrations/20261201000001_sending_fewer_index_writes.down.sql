-- Not in a transaction, as the up migration (indexes CONCURRENTLY).

DROP TRIGGER IF EXISTS email_accounts_updated_at ON email_accounts;
CREATE TRIGGER email_accounts_updated_at BEFORE UPDATE ON email_accounts FOR EACH ROW EXECUTE FUNCTION set_updated_at();

--bun:split

DROP TRIGGER IF EXISTS sequences_updated_at ON sequences;
CREATE TRIGGER sequences_updated_at BEFORE UPDATE ON sequences FOR EACH ROW EXECUTE FUNCTION set_updated_at();

--bun:split

DROP TRIGGER IF EXISTS leads_updated_at ON leads;
CREATE TRIGGER leads_updated_at BEFORE UPDATE ON leads FOR EACH ROW EXECUTE FUNCTION set_updated_at();

--bun:split

DROP TRIGGER IF EXISTS messages_updated_at ON messages;
CREATE TRIGGER messages_updated_at BEFORE UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION set_updated_at();

--bun:split

CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_provider_message_any_idx ON messages (provider_message_id) WHERE provider_message_id IS NOT NULL;

--bun:split

DROP INDEX CONCURRENTLY IF EXISTS messages_provider_message_idx;

--bun:split

ALTER INDEX messages_provider_message_any_idx RENAME TO messages_provider_message_idx;

--bun:split

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS messages_org_message_id_all_key ON messages (org_id, message_id);

--bun:split

DROP INDEX CONCURRENTLY IF EXISTS messages_org_message_id_key;

--bun:split

ALTER INDEX messages_org_message_id_all_key RENAME TO messages_org_message_id_key;

--bun:split

CREATE INDEX CONCURRENTLY IF NOT EXISTS leads_org_status_idx ON leads (org_id, status, id DESC);
