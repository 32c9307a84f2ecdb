DROP INDEX IF EXISTS leads_org_campaign_email_key;

--bun:split

ALTER TABLE leads DROP CONSTRAINT IF EXISTS leads_email_lower;

--bun:split

CREATE UNIQUE INDEX leads_org_campaign_email_key ON leads (org_id, campaign_id, lower(email)) NULLS NOT DISTINCT
  WHERE email IS NOT NULL;

--bun:split

CREATE INDEX leads_org_email_idx ON leads (org_id, lower(email)) WHERE email IS NOT NULL;
