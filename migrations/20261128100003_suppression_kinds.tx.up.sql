-- The suppression list holds three kinds of entry: an email address, a
-- whole email domain (every address at it), and a phone number (SMS and
-- WhatsApp alike: a person who answered STOP on one did not ask for the
-- other). `kind` replaces `channel`, which could not say "domain" and split
-- one phone number into two rows. Values are stored as internal/contact
-- normalises them: addresses lower-case with an ASCII (IDNA) domain,
-- domains the same ASCII form, phones E.164. So each check is an equality.
--
-- Indexes and the queries that use them (plans checked with EXPLAIN on
-- 200,000 rows in 20 organisations):
--   suppressions_org_value_kind_key UNIQUE (org_id, value text_pattern_ops, kind)
--     - "is this address suppressed, by itself or by its domain?": one query,
--         WHERE org_id = $1 AND ((kind = 'email' AND value = $2)
--                             OR (kind = 'domain' AND value = split_part($2, '@', 2)))
--       is two probes of this index (a BitmapOr); see is_suppressed below;
--     - "is this phone suppressed?": WHERE org_id = $1 AND kind = 'phone' AND value = $2,
--       one probe;
--     - the list's search by value prefix (value LIKE 'abc%'), a range of
--       it: text_pattern_ops because the database's collation may not be C
--       (its equality is the same, so the index also enforces uniqueness and
--       serves ON CONFLICT (org_id, kind, value) in Add and BulkAdd).
--   suppressions_org_id_id_idx (org_id, id DESC), from the outreach schema
--     - the list, newest first, keyset-paged.
--   suppressions_org_kind_id_idx (org_id, kind, id DESC)
--     - the list filtered by kind (a reason filter runs over either).

--bun:split

ALTER TABLE suppressions ADD COLUMN kind text;
UPDATE suppressions SET kind = CASE channel WHEN 'email' THEN 'email' ELSE 'phone' END;
-- One number suppressed for both sms and whatsapp becomes one row: keep the oldest.
DELETE FROM suppressions s USING suppressions o
 WHERE s.org_id = o.org_id AND s.kind = 'phone' AND o.kind = 'phone' AND s.value = o.value
   AND (o.created_at, o.id) < (s.created_at, s.id);

ALTER TABLE suppressions DROP CONSTRAINT suppressions_value_check;
ALTER TABLE suppressions DROP CONSTRAINT suppressions_org_id_channel_value_key;
ALTER TABLE suppressions DROP COLUMN channel;
ALTER TABLE suppressions ALTER COLUMN kind SET NOT NULL;
ALTER TABLE suppressions ADD CONSTRAINT suppressions_kind_check CHECK (kind IN ('email', 'domain', 'phone'));
ALTER TABLE suppressions ADD CONSTRAINT suppressions_value_check CHECK (CASE kind
  WHEN 'email' THEN value = lower(value) AND value !~ '\s' AND length(value) BETWEEN 3 AND 320 AND value LIKE '%_@_%'
  WHEN 'domain' THEN length(value) <= 253
    AND value ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$'
  ELSE value ~ '^\+[1-9][0-9]{6,14}$' END);
ALTER TABLE suppressions ADD CONSTRAINT suppressions_source_check CHECK (length(source) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX suppressions_org_value_kind_key ON suppressions (org_id, value text_pattern_ops, kind);

--bun:split

CREATE INDEX suppressions_org_kind_id_idx ON suppressions (org_id, kind, id DESC);

--bun:split

-- is_suppressed reports whether the current organisation (app.org_id)
-- suppresses an address (by itself or by its domain) or any of the phone
-- numbers; NULLs are ignored. Arguments must be normalised as
-- internal/contact does (the address is lower-cased again, so a
-- leads.email stored with its case matches too). It runs as the caller (SECURITY INVOKER), so
-- row-level security applies: it can only ever see the caller's own list.
-- For set-based use (an import's INSERT … SELECT) prefer the NOT EXISTS
-- fragment internal/suppressions exports, which the planner turns into an
-- anti-join; this function is for single checks (the send worker's re-check)
-- and ad-hoc SQL. Each call is one query over suppressions_org_value_kind_key.
CREATE FUNCTION is_suppressed(p_email text, VARIADIC p_phones text[] DEFAULT '{}')
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT EXISTS (
    SELECT 1 FROM suppressions
     WHERE org_id = app_current_org_id()
       AND ((kind = 'email' AND value = lower(p_email))
         OR (kind = 'domain' AND value = split_part(lower(p_email), '@', 2))
         OR (kind = 'phone' AND value = ANY (p_phones)))
  )
$$;

GRANT EXECUTE ON FUNCTION is_suppressed(text, text[]) TO leadpilot_app;
