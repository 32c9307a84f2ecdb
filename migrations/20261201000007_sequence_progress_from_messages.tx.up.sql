-- A sequence's progress (current_step: how many of its steps went out) is
-- read from its messages instead of written on every send. The sending
-- engine updated the sequence's row once per message it sent, only to
-- move current_step on: a heap-only update, but of the sequence's whole
-- row (its steps' text with it), with its WAL, in every batch's record
-- transaction. Measured (BenchmarkSend, 100,000 messages, medians of
-- three same-run pairs, done twice): Postgres 233 -> 223 and 222 -> 215
-- µs per message; 5,165 -> 5,380 and 5,371 -> 5,858 msgs/s.
--
-- current_step is now the highest step of the sequence's messages that
-- went out: sent_at set, whatever their status since (delivered, read,
-- replied, bounced, or put back on the schedule by a soft bounce and
-- cancelled after), as it was written: the outcome that set sent_at set
-- current_step in the same transaction, and nothing lowered it. The
-- lookup must read messages_org_lead_idx (a lead has a few messages). It
-- tests "(sent_at IS NULL) IS FALSE", which the planner does not read as
-- sent_at IS NOT NULL: so the partial indexes on sent messages
-- (messages_org_sent_at_idx, messages_org_message_id_key), which it
-- chose when the statistics held few sent messages, are not candidates;
-- through them the lookup read every sent message of the organisation
-- (106 ms with 90,000 of them).
--
-- sequences_with_progress is sequences with that column: the view the
-- sequences service reads and writes through (a simple view, so
-- INSERT, UPDATE and DELETE go to sequences; current_step is read-only;
-- security_invoker, so row-level security of sequences applies to the
-- caller). A column added to sequences must be added to the view too.
-- is_complete stays a column: it changes once per sequence.
--
-- sequences.current_step stays, no longer maintained, until a later
-- release drops it: a worker of the previous release still writes it in
-- its record transaction, which must not fail during a rolling deploy.
-- Deploy the API before the workers: an API server of the previous
-- release reads that column, which workers of this release leave behind.
--
-- The edits a sent step forbids (changing, regenerating or rejecting it)
-- also treat a step in flight (claimed, not yet recorded) as sent; see
-- setBegun in internal/sequences: the record transaction no longer locks
-- the sequence's row, which made them wait for it.

COMMENT ON COLUMN sequences.current_step IS 'not maintained since 20261201000007: read sequences_with_progress.current_step';

--bun:split

CREATE VIEW sequences_with_progress WITH (security_invoker = true) AS
SELECT s.id, s.org_id, s.campaign_id, s.lead_id, s.template_id, s.steps, s.llm_provider, s.llm_model,
       s.llm_prompt_tokens, s.llm_completion_tokens,
       coalesce((SELECT max(m.step) FROM messages m
                  WHERE m.org_id = s.org_id AND m.lead_id = s.lead_id AND m.sequence_id = s.id AND (m.sent_at IS NULL) IS FALSE), 0) AS current_step,
       s.is_complete, s.stopped_reason, s.is_approved, s.approved_at, s.approved_by, s.generated_at, s.created_at, s.updated_at
  FROM sequences s;

--bun:split

GRANT SELECT, INSERT, UPDATE, DELETE ON sequences_with_progress TO leadpilot_app;
