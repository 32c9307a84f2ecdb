-- When the lead last wrote (a person's reply, not an auto-reply or a
-- report): classification moves the lead's status only for its latest
-- reply, and reads it here rather than from the messages.
ALTER TABLE inbox_threads ADD COLUMN last_reply_at timestamptz;

--bun:split

UPDATE inbox_threads t SET last_reply_at = (
  SELECT max(i.received_at) FROM inbox_messages i
  WHERE i.org_id = t.org_id AND i.inbox_thread_id = t.id AND i.direction = 'inbound' AND i.kind = 'reply');
