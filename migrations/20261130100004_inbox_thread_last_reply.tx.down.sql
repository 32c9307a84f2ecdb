ALTER TABLE inbox_threads DROP COLUMN IF EXISTS last_reply_at;
