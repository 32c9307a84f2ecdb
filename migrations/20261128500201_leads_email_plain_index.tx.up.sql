-- Lead emails are stored lower-case, and the indexes on leads are plain
-- columns the API's queries can use under row-level security.
--
-- The service's role is bound by the policy org_isolation (org_id =
-- app_current_org_id()), and Postgres applies it before any condition
-- whose function is not LEAKPROOF; such a condition is then a filter,
-- never an index condition. lower() is not leakproof (text and uuid
-- equality are), so `org_id = $1 AND lower(email) = $2` could not use
-- (org_id, lower(email)): checkOtherCampaign read every lead of every
-- organisation (a sequential scan, 190 ms over 250,000 leads) where it
-- now reads one index entry per contact (0.3 ms); a bulk move of 50 leads
-- did that scan once per lead (7.1 s) and now takes 26 ms.
--
-- The application has long stored addresses trimmed, NFKC and lower-case
-- (contact.Email, for the API and the import); the UPDATE below brings
-- older rows in line, and leads_email_lower keeps it so. With that, one
-- unique index on (org_id, email, campaign_id) replaces both
-- (org_id, campaign_id, lower(email)) and (org_id, lower(email)): the
-- same uniqueness (a unique index's column order does not change what it
-- allows, nor ON CONFLICT's inference), and org_id, email lead it for the
-- lookups by address. One index fewer for every imported row to maintain.
--
-- Every index on leads, and what uses it (plans checked with EXPLAIN
-- ANALYZE as leadpilot_api, in a transaction with app.org_id set, on an
-- organisation of 150,000 leads among 250,000):
--
--   leads_pkey (id)
--     - no API query: every one names org_id, so the planner takes
--       leads_org_id_id_key. It stays as the primary key, by the schema's
--       convention for tenant tables (PRIMARY KEY (id), UNIQUE (org_id,
--       id DESC) for the composite foreign keys); making (org_id, id) the
--       primary key instead would save imports one more index, and means
--       re-creating the four foreign keys that reference leads.
--   leads_org_id_id_key UNIQUE (org_id, id DESC)
--     - GET /v1/leads: newest first, keyset-paged (id < cursor); the
--       approval, country and created-range filters are conditions on
--       that walk; GET /v1/leads/export pages the same way;
--     - GET/PATCH/DELETE /v1/leads/{id} (getRow, FOR UPDATE on a change;
--       the UPDATE and DELETE by org_id, id);
--     - GET /v1/leads?q=: the ids leads_search() returns, as
--       id = ANY(ARRAY(...));
--     - POST /v1/leads/bulk: the selection by ids (FOR UPDATE), every
--       action's UPDATE/DELETE by ids, move's outer scan and its count.
--     - the target of the (org_id, lead_id) foreign keys of sequences,
--       messages, inbox_messages and notifications.
--   leads_org_campaign_idx (org_id, campaign_id, id DESC)
--     - the list (and bulk selection, export) filtered by campaign;
--     - the campaign stats (campaigns.statsFor: count per campaign);
--     - the cascade of leads_org_id_campaign_id_fkey when a campaign is
--       deleted.
--   leads_org_status_idx (org_id, status, id DESC)
--     - the list (and bulk selection, export) filtered by status.
--   leads_org_campaign_email_key UNIQUE (org_id, email, campaign_id)
--   NULLS NOT DISTINCT WHERE email IS NOT NULL
--     - one lead per address per campaign (campaign_id NULL is one
--       bucket): a duplicate create, update or move is a 409
--       duplicate_lead, and the import's INSERT … ON CONFLICT DO NOTHING
--       counts it already_present;
--     - POST /v1/leads with skip_if_in_other_campaign: the address half
--       of checkOtherCampaign (org_id = $1 AND email = $2);
--     - bulk move_to_campaign: "does the target, or an earlier selected
--       lead, already hold this address?" (index scans on org_id, email).
--   leads_org_campaign_phone_key UNIQUE (org_id, campaign_id, phone)
--   NULLS NOT DISTINCT WHERE email IS NULL AND phone IS NOT NULL
--     - the phone identity of email-less leads (migration
--       20261128400101): a duplicate create, update or move is a 409, the
--       import's ON CONFLICT DO NOTHING counts it already_present.
--   leads_org_phone_idx (org_id, phone) WHERE phone IS NOT NULL
--     - the phone half of checkOtherCampaign;
--     - bulk move_to_campaign's checks for email-less leads (org_id,
--       phone, then email IS NULL and the campaign as filters).
--   leads_org_whatsapp_idx (org_id, whatsapp) WHERE whatsapp IS NOT NULL
--     - the WhatsApp half of checkOtherCampaign: a lead created with
--       skip_if_in_other_campaign and a WhatsApp number is refused when
--       that number is another campaign's lead's WhatsApp number. It is
--       the only API query that looks a lead up by WhatsApp number (the
--       inbox will match inbound messages by it too); it costs an import
--       only the rows that have one.
--   leads_search_trgm_idx GIN (lower(name || ' ' || email || ' ' || company) gin_trgm_ops)
--     - GET /v1/leads?q= (and bulk and export with q), through the
--       SECURITY DEFINER function leads_search() (migration
--       20261128500101), which runs the LIKE as the owner, scoped to
--       app_current_org_id().

--bun:split

DROP INDEX leads_org_campaign_email_key;

--bun:split

DROP INDEX leads_org_email_idx;

--bun:split

-- Safe: leads_org_campaign_email_key (on lower(email)) allowed no two
-- leads of one campaign whose addresses differ only in case.
UPDATE leads SET email = lower(email) WHERE email <> lower(email);

--bun:split

ALTER TABLE leads ADD CONSTRAINT leads_email_lower CHECK (email = lower(email));

--bun:split

CREATE UNIQUE INDEX leads_org_campaign_email_key ON leads (org_id, email, campaign_id) NULLS NOT DISTINCT
  WHERE email IS NOT NULL;
