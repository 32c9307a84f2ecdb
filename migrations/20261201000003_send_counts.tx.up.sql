-- The caps beyond the mailbox (per recipient domain per day, per sending
-- domain per hour, per campaign's new leads per day) as counters.
--
-- They were counts of the messages claimed since the period's start, run
-- at every claim: a join of the organisation's whole day of messages with
-- their leads, grouped by domain. Measured at 50,000 messages claimed in
-- a day, one claim spent 32 ms on the recipient-domain count and 55 ms on
-- the campaign's, and that grows with the day's volume while a gapped
-- mailbox claims one message at a time. Now a claim adds what it claimed
-- to one row per (scope, key, period) in the same transaction, a
-- transient failure gives its count back when recorded (it did not go),
-- and the caps read those rows by primary key.
--
-- period_start is, for recipient_domain and campaign_new, the
-- organisation's day: its local date, kept as that date's midnight UTC (a
-- key rather than an instant, so a DST change at midnight cannot make two
-- clocks disagree on it); for sending_domain the hour (UTC).
-- key is the domain in lower case, or the campaign's id. Rows of past
-- periods are pruned by the engine (maint_prune_send_counts).
CREATE TABLE send_counts (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  scope text NOT NULL CHECK (scope IN ('recipient_domain', 'sending_domain', 'campaign_new')),
  key text NOT NULL,
  period_start timestamptz NOT NULL,
  n integer NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, scope, key, period_start)
);

--bun:split

CREATE INDEX send_counts_period_idx ON send_counts (period_start);

--bun:split

GRANT SELECT, INSERT, UPDATE, DELETE ON send_counts TO leadpilot_app;

--bun:split

ALTER TABLE send_counts ENABLE ROW LEVEL SECURITY;

--bun:split

CREATE POLICY org_isolation ON send_counts
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());

--bun:split

-- What was claimed before this migration, so the caps hold across the
-- deploy: the last two days' claims, counted as the engine counts them
-- (a claim that failed transiently counts here, where the engine would
-- have given it back: the caps err on the safe side for a day; a time
-- zone Postgres does not know, such as Go's "Local", counts as UTC).
INSERT INTO send_counts (org_id, scope, key, period_start, n)
WITH z AS ( -- each organisation's time zone, as the engine reads it (UTC when unknown)
  SELECT o.id AS org_id, coalesce(t.name, 'UTC') AS tz
  FROM organizations o LEFT JOIN pg_timezone_names t ON t.name = o.settings->>'timezone'
)
SELECT org_id, scope, key, period_start, count(*)
FROM (
  SELECT m.org_id, 'recipient_domain' AS scope, lower(split_part(l.email, '@', 2)) AS key,
         (m.claimed_at AT TIME ZONE z.tz)::date::timestamp AT TIME ZONE 'UTC' AS period_start
  FROM messages m
  JOIN leads l ON l.org_id = m.org_id AND l.id = m.lead_id
  JOIN z ON z.org_id = m.org_id
  WHERE m.claimed_at >= now() - interval '2 days' AND m.channel = 'email' AND l.email LIKE '%@%'
  UNION ALL
  SELECT m.org_id, 'sending_domain', lower(split_part(a.email_address, '@', 2)), date_trunc('hour', m.claimed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
  FROM messages m JOIN email_accounts a ON a.org_id = m.org_id AND a.id = m.email_account_id
  WHERE m.claimed_at >= now() - interval '2 days'
  UNION ALL
  SELECT m.org_id, 'campaign_new', m.campaign_id::text, (m.claimed_at AT TIME ZONE z.tz)::date::timestamp AT TIME ZONE 'UTC'
  FROM messages m JOIN z ON z.org_id = m.org_id
  WHERE m.claimed_at >= now() - interval '2 days' AND m.step = 1 AND m.campaign_id IS NOT NULL
) c
GROUP BY org_id, scope, key, period_start;

--bun:split

-- The engine's prune of past periods, across tenants as the RLS-bound app
-- role (hence SECURITY DEFINER, like the other maint_ functions); it
-- returns how many rows it deleted.
CREATE FUNCTION maint_prune_send_counts(p_before timestamptz)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH gone AS (DELETE FROM send_counts WHERE period_start < p_before RETURNING 1)
  SELECT count(*)::integer FROM gone
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_prune_send_counts(timestamptz) FROM PUBLIC;

--bun:split

GRANT EXECUTE ON FUNCTION maint_prune_send_counts(timestamptz) TO leadpilot_app;
