-- The column as migration 20261124000002 made it (its values were never
-- written: every row gets the all-zero default back).
ALTER TABLE campaigns ADD COLUMN stats jsonb NOT NULL DEFAULT '{
    "total_leads": 0,
    "emails_sent": 0,
    "whatsapp_sent": 0,
    "sms_sent": 0,
    "replies_received": 0,
    "positive_replies": 0,
    "bounces": 0
  }'::jsonb CHECK (jsonb_typeof(stats) = 'object');
