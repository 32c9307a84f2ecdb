DROP INDEX IF EXISTS leads_org_campaign_phone_key;
