DROP FUNCTION IF EXISTS is_suppressed(text, text[]);

--bun:split

DROP INDEX IF EXISTS suppressions_org_kind_id_idx;

--bun:split

-- Domain entries have no channel to go back to; they are dropped. Phone
-- entries go back as sms (one row; the down cannot know the channel).
DELETE FROM suppressions WHERE kind = 'domain';
DROP INDEX suppressions_org_value_kind_key;
ALTER TABLE suppressions DROP CONSTRAINT suppressions_source_check;
ALTER TABLE suppressions DROP CONSTRAINT suppressions_value_check;
ALTER TABLE suppressions DROP CONSTRAINT suppressions_kind_check;
ALTER TABLE suppressions ADD COLUMN channel text;
UPDATE suppressions SET channel = CASE kind WHEN 'email' THEN 'email' ELSE 'sms' END;
ALTER TABLE suppressions DROP COLUMN kind;
ALTER TABLE suppressions ALTER COLUMN channel SET NOT NULL;
ALTER TABLE suppressions ADD CONSTRAINT suppressions_channel_check CHECK (channel IN ('email', 'whatsapp', 'sms'));
ALTER TABLE suppressions ADD CONSTRAINT suppressions_value_check CHECK (CASE WHEN channel = 'email'
              THEN value = lower(value) AND value !~ '^\s|\s$' AND length(value) BETWEEN 3 AND 320 AND value LIKE '%_@_%'
              ELSE value ~ '^\+[1-9][0-9]{6,14}$' END);
ALTER TABLE suppressions ADD CONSTRAINT suppressions_org_id_channel_value_key UNIQUE (org_id, channel, value);
