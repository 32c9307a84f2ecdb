-- Free-text search over a lead's name, email and company, and the indexes
-- the leads API's queries use (internal/leads):
--
-- (plans checked with EXPLAIN ANALYZE on 200,000 leads in 20 organisations)
--
--   leads_search_trgm_idx GIN (lower(name || ' ' || email || ' ' || company) gin_trgm_ops)
--     - GET /v1/leads?q=… (and POST /v1/leads/bulk and GET /v1/leads/export
--       with the same filter): WHERE org_id = $1 AND <that expression>
--       LIKE '%term%' (leads.SearchSQL). A rare term is a trigram bitmap
--       scan, rechecked for the org and sorted (3-10 ms); a common term, or
--       one under three characters, the planner answers with the keyset
--       walk below and a filter, which stops after a page of matches.
--   leads_org_id_id_key (org_id, id DESC), from the outreach schema
--     - the list, newest first, keyset-paged (id < cursor); the filters on
--       approval, country and created range are conditions on that scan.
--   leads_org_campaign_idx (org_id, campaign_id, id DESC)
--     - the list filtered by campaign, keyset-paged in the same order.
--   leads_org_status_idx (org_id, status, id DESC)
--     - the list filtered by status, keyset-paged in the same order.
--   leads_org_email_idx (org_id, lower(email))
--     - "is this address already in another campaign?" (skip_if_in_other_campaign).
--   leads_org_campaign_email_key UNIQUE (org_id, campaign_id, lower(email))
--     - one lead per address per campaign: a duplicate create, update or
--       move answers 409.
--
-- pg_trgm is a trusted extension: the database owner may create it.

--bun:split

CREATE EXTENSION IF NOT EXISTS pg_trgm;

--bun:split

CREATE INDEX leads_search_trgm_idx ON leads USING gin (
  lower(coalesce(full_name, '') || ' ' || coalesce(email, '') || ' ' || coalesce(company, '')) gin_trgm_ops
);
