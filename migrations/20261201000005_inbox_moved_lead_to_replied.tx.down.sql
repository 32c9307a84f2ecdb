ALTER TABLE inbox_messages DROP COLUMN IF EXISTS moved_lead_to_replied;
