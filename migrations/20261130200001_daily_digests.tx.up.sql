-- The daily digest (internal/notifications, digest.go): an email a day to
-- each member who wants one (users.notification_preferences.daily_digest,
-- on unless set false), summarising the organisation's activity since
-- that member's previous digest.
--
-- daily_digests is the decision, one row per organisation, member and
-- local day (the organisation's time zone). The primary key is the guard:
-- two workers that decide the same member's day at once both insert it,
-- the second waits for the first and then finds the row, so at most one
-- digest a day goes out. The row is written in the same transaction as the
-- in-app copy (a daily_digest notification) and committed only once the
-- mail was handed over; a day with nothing to say keeps its row too
-- (outcome 'empty'), so each member's day is decided once, and the next
-- digest still covers it (period_start is the previous row's period_end).
CREATE TABLE daily_digests (
  org_id uuid NOT NULL,
  user_id uuid NOT NULL,
  local_day date NOT NULL,
  period_start timestamptz NOT NULL,
  period_end timestamptz NOT NULL CHECK (period_end >= period_start),
  -- sent: mailed, notification_id is the in-app copy; empty: nothing to
  -- say; opted_out: the preference went off between the scan and the
  -- decision.
  outcome text NOT NULL CHECK (outcome IN ('sent', 'empty', 'opted_out')),
  notification_id uuid REFERENCES notifications (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, user_id, local_day),
  -- A member who leaves takes their digests along.
  FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);

--bun:split

CREATE INDEX daily_digests_notification_idx ON daily_digests (notification_id) WHERE notification_id IS NOT NULL;

--bun:split

GRANT SELECT, INSERT, UPDATE, DELETE ON daily_digests TO leadpilot_app;

--bun:split

ALTER TABLE daily_digests ENABLE ROW LEVEL SECURITY;

--bun:split

CREATE POLICY org_isolation ON daily_digests
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());

--bun:split

-- The digest's windows: inbound mail by when it reached us, messages by
-- when they left.
CREATE INDEX inbox_messages_org_inbound_created_idx ON inbox_messages (org_id, created_at) WHERE direction = 'inbound';
CREATE INDEX messages_org_sent_at_idx ON messages (org_id, sent_at) WHERE sent_at IS NOT NULL;

--bun:split

-- app_zone_or_utc is p_zone if Postgres knows it, else 'UTC' (as
-- orgs.Location falls back when a zone no longer loads). Settings are
-- validated when written; this keeps one stale zone from failing the scan.
CREATE FUNCTION app_zone_or_utc(p_zone text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
BEGIN
  IF p_zone IS NULL THEN
    RETURN 'UTC';
  END IF;
  PERFORM now() AT TIME ZONE p_zone;
  RETURN p_zone;
EXCEPTION WHEN invalid_parameter_value THEN
  RETURN 'UTC';
END
$$;

--bun:split

-- The hourly scan, across tenants as the RLS-bound app role (hence
-- SECURITY DEFINER; ids only): members due a digest at p_now, i.e. whose
-- organisation's local time is past p_hour o'clock, whose address is
-- verified (no daily mail to an address nobody confirmed), whose
-- preference is not off, and whose local day has no decision yet. Each
-- distinct zone is checked once (app_zone_or_utc). p_org limits the scan
-- to one organisation (NULL: all); (p_after_org, p_after_user) is the
-- keyset cursor of the previous page (NULLs: the start).
CREATE FUNCTION maint_daily_digests_due(p_now timestamptz, p_hour integer, p_org uuid,
                                        p_after_org uuid, p_after_user uuid, p_limit integer)
RETURNS TABLE (org_id uuid, user_id uuid, timezone text, local_day date)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH zones AS MATERIALIZED (
    SELECT z.zone, app_zone_or_utc(z.zone) AS tz
      FROM (SELECT DISTINCT o.settings->>'timezone' AS zone FROM organizations o WHERE p_org IS NULL OR o.id = p_org) z
  ),
  orgs AS (
    SELECT o.id, z.tz, p_now AT TIME ZONE z.tz AS local_now
      FROM organizations o
      JOIN zones z ON z.zone IS NOT DISTINCT FROM o.settings->>'timezone'
     WHERE p_org IS NULL OR o.id = p_org
  )
  SELECT m.org_id, m.user_id, o.tz, o.local_now::date
    FROM orgs o
    JOIN memberships m ON m.org_id = o.id
    JOIN users u ON u.id = m.user_id
   WHERE extract(hour FROM o.local_now) >= p_hour
     AND u.email_verified_at IS NOT NULL
     AND (u.notification_preferences -> 'daily_digest') IS DISTINCT FROM 'false'::jsonb
     AND (p_after_org IS NULL OR (m.org_id, m.user_id) > (p_after_org, p_after_user))
     AND NOT EXISTS (SELECT 1 FROM daily_digests d
                      WHERE d.org_id = m.org_id AND d.user_id = m.user_id AND d.local_day = o.local_now::date)
   ORDER BY m.org_id, m.user_id
   LIMIT greatest(p_limit, 0)
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_daily_digests_due(timestamptz, integer, uuid, uuid, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_daily_digests_due(timestamptz, integer, uuid, uuid, uuid, integer) TO leadpilot_app;
