-- The sending engine's writes maintain fewer index entries.
--
-- A send writes each message three times (the claim, the outcome, and
-- the next step's insert) and its lead once (contacted); none of those
-- can be heap-only (HOT) while a column it changes is indexed, so every
-- write inserts a new entry into every index whose predicate holds.
-- Profiled (perf, BenchmarkSend at 100,000 messages), index insertion was
-- nearly half of Postgres's CPU time per send.
--
-- 1. leads_org_status_idx (org_id, status, id DESC) goes. It was the only
--    index on a column a send changes (status new/sequenced -> contacted;
--    last_contacted_at and updated_at are not indexed), so the lead's
--    update is now heap-only (leads has fillfactor 90): it no longer adds
--    an entry to each of the leads' six indexes (one of them the
--    trigram GIN, some 40 entries per lead). The list filtered by status
--    now walks leads_org_id_id_key (newest first, as it pages) with status
--    as a filter: measured on an organisation of 150,000 leads, a page of
--    a 0.1% status takes 26 ms instead of 0.1 ms, of a 1% status 2.6 ms,
--    and a status no lead has is a 14 ms scan. BenchmarkSend: Postgres
--    CPU per message -12%.
--
-- 2. messages_org_message_id_key (org_id, message_id) holds only the
--    messages that went out (sent_at is set, and stays set when a soft
--    bounce puts one back on the schedule) or may have (delivery
--    uncertain): the inbox looks a Message-ID up to match a reply or a
--    report, or to recognise our own mail, and only such a message can be
--    any of those (sending.WentOut). A scheduled or in-flight message no
--    longer adds an entry at its insert and at its claim. Message-IDs are
--    generated unique (a UUID each), so uniqueness among those that went
--    out is what the constraint still has to keep.
--
-- 3. messages_provider_message_idx: SMTP's queue ids are never looked up
--    (bounces and replies name our Message-ID); the index is for the
--    providers that call back with their own id (Twilio's SID).
--
-- 4. The updated_at triggers of messages, leads, sequences and
--    email_accounts run only when the statement left updated_at as it was:
--    the engine's statements set it themselves, and a PL/pgSQL call per
--    row to set it again was 2% of Postgres's time.
--
-- Not in a transaction: the indexes are built and dropped CONCURRENTLY,
-- so messages and leads stay readable and writable meanwhile (in one
-- transaction, DROP INDEX would hold an exclusive lock on messages through
-- both index builds). Each step can run again after a failure; a
-- concurrent build that failed leaves an INVALID index of the new name:
-- drop it and run the migration again. Each trigger is replaced in one
-- statement group (one implicit transaction), never missing.

DROP INDEX CONCURRENTLY IF EXISTS leads_org_status_idx;

--bun:split

CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS messages_org_message_id_went_out_key ON messages (org_id, message_id)
  WHERE (sent_at IS NOT NULL OR delivery_uncertain);

--bun:split

DROP INDEX CONCURRENTLY IF EXISTS messages_org_message_id_key;

--bun:split

ALTER INDEX messages_org_message_id_went_out_key RENAME TO messages_org_message_id_key;

--bun:split

CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_provider_message_not_email_idx ON messages (provider_message_id)
  WHERE provider_message_id IS NOT NULL AND channel <> 'email';

--bun:split

DROP INDEX CONCURRENTLY IF EXISTS messages_provider_message_idx;

--bun:split

ALTER INDEX messages_provider_message_not_email_idx RENAME TO messages_provider_message_idx;

--bun:split

DROP TRIGGER IF EXISTS messages_updated_at ON messages;
CREATE TRIGGER messages_updated_at BEFORE UPDATE ON messages FOR EACH ROW
  WHEN (NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at) EXECUTE FUNCTION set_updated_at();

--bun:split

DROP TRIGGER IF EXISTS leads_updated_at ON leads;
CREATE TRIGGER leads_updated_at BEFORE UPDATE ON leads FOR EACH ROW
  WHEN (NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at) EXECUTE FUNCTION set_updated_at();

--bun:split

DROP TRIGGER IF EXISTS sequences_updated_at ON sequences;
CREATE TRIGGER sequences_updated_at BEFORE UPDATE ON sequences FOR EACH ROW
  WHEN (NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at) EXECUTE FUNCTION set_updated_at();

--bun:split

DROP TRIGGER IF EXISTS email_accounts_updated_at ON email_accounts;
CREATE TRIGGER email_accounts_updated_at BEFORE UPDATE ON email_accounts FOR EACH ROW
  WHEN (NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at) EXECUTE FUNCTION set_updated_at();
