-- A lead is identified within its campaign (or within "no campaign") by its
-- email when it has one, else by its phone number (E.164). The email half
-- is leads_org_campaign_email_key; this is the phone half, for leads
-- without an email. NULLS NOT DISTINCT as for the email key, so leads
-- outside any campaign form one bucket too.
--
-- A partial unique index rather than a NOT EXISTS in the import's
-- INSERT … SELECT: only email-less leads get an entry, so an import of
-- leads with addresses (the usual 1M-row file) pays nothing but the
-- predicate per row, while a phone-only import pays one btree, as an
-- email import pays for the email key. And unlike NOT EXISTS, the index
-- holds when two imports, or an import and the API, insert the same
-- number at the same time.
--
-- Leads that broke the rule before (a phone-only file imported twice into
-- one campaign) must go first. The oldest of each set stays; a later one
-- is deleted only when nothing hangs on it (no sequence, message, reply or
-- notification): it is then only a second copy. Should a copy with history
-- remain, the migration stops and names the count, for a person to merge.

--bun:split

DELETE FROM leads l
 USING leads o
 WHERE l.org_id = o.org_id
   AND l.campaign_id IS NOT DISTINCT FROM o.campaign_id
   AND l.email IS NULL AND o.email IS NULL
   AND l.phone = o.phone
   AND (o.created_at, o.id) < (l.created_at, l.id)
   AND NOT EXISTS (SELECT 1 FROM sequences s WHERE s.org_id = l.org_id AND s.lead_id = l.id)
   AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.org_id = l.org_id AND m.lead_id = l.id)
   AND NOT EXISTS (SELECT 1 FROM inbox_messages i WHERE i.org_id = l.org_id AND i.lead_id = l.id)
   AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.org_id = l.org_id AND n.lead_id = l.id);

--bun:split

DO $$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM (
    SELECT 1 FROM leads WHERE email IS NULL AND phone IS NOT NULL
     GROUP BY org_id, campaign_id, phone HAVING count(*) > 1) d;
  IF n > 0 THEN
    RAISE EXCEPTION '% phone numbers are on more than one email-less lead of the same campaign, and the copies have history; merge them before this migration', n;
  END IF;
END
$$;

--bun:split

CREATE UNIQUE INDEX leads_org_campaign_phone_key ON leads (org_id, campaign_id, phone) NULLS NOT DISTINCT
  WHERE email IS NULL AND phone IS NOT NULL;
