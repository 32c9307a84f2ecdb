-- Ingest's lookups, per batch of synced mail (internal/inbox ingest.go).
--
-- Matching senders to leads reads leads WHERE lower(email) = ANY(the
-- batch's addresses). The only index on lower(email) is partial (email IS
-- NOT NULL), and Postgres takes no statistics from a partial index's
-- expressions, so it guessed that 200 addresses match about two thirds of
-- an organisation's leads (12,661 of 20,000 in BenchmarkSync). The plan's
-- cost passed jit_above_cost and every batch paid ~17 ms of JIT
-- compilation for a 200-row answer: 31 ms a batch, 14 ms with these
-- statistics (EXPLAIN ANALYZE, 20,000 leads). Statistics on the
-- expression make the estimate right (ANALYZE builds them).
CREATE STATISTICS leads_lower_email_stats ON (lower(email)) FROM leads;

--bun:split

-- "Is it ours?" and the match by headers look up the replies composed in
-- the inbox (direction 'outbound') by Message-ID in any of the
-- organisation's mailboxes. The unique index on Message-IDs leads with
-- the mailbox, so each batch read every inbox message of the organisation
-- (a sequential scan that grows with the inbox). Outbound rows only: a
-- small index.
CREATE INDEX inbox_messages_org_outbound_message_id_idx ON inbox_messages (org_id, message_id) WHERE direction = 'outbound';
