-- Whether ingest moved the message's lead to replied for it (a person's
-- reply, by ingest's rules: lead.status_changed, reason reply). A reply
-- the classifier later finds to be an out-of-office notice undoes that
-- move only when the move was its own: a lead a person set to replied,
-- or one an earlier reply moved, stays stopped.
ALTER TABLE inbox_messages ADD COLUMN moved_lead_to_replied boolean NOT NULL DEFAULT false;
