-- Events and outbound webhooks (issue 8).
--
-- events is the one append-only log of what changed: every state change a
-- user or an integrator could care about writes its row in the same
-- transaction as the change (a transactional outbox), so an event exists if
-- and only if its change does. data is the object as the API returns it
-- (its resource schema in openapi.yaml), taken when the change happened: a
-- webhook retried three days later sends what happened then.
--
-- Growth: id is a UUIDv7, so it orders events by time, and every key and
-- index here leads with it or ends with it. When the table grows past what
-- one heap should hold it becomes `PARTITION BY RANGE (id)` with one
-- partition per month (bounds are the v7 UUIDs of the month's first
-- millisecond): the primary key (id) already contains the partition key, no
-- query needs a change, and retention drops whole partitions instead of
-- deleting rows. Until then the maintenance job deletes what is past the
-- retention, in bounded batches.
CREATE TABLE events (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  type text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
  object_type text NOT NULL,
  object_id uuid,
  data jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
  occurred_at timestamptz NOT NULL DEFAULT now()
);

-- GET /v1/events: newest first, by type, by object.
CREATE INDEX events_org_id_idx ON events (org_id, id DESC);
CREATE INDEX events_org_type_id_idx ON events (org_id, type, id DESC);
CREATE INDEX events_org_object_id_idx ON events (org_id, object_id, id DESC) WHERE object_id IS NOT NULL;

--bun:split

-- A receiver of events. secret_encrypted holds the current `whsec_…`
-- signing secret, encrypted with the service keyring (AAD
-- webhook_endpoints.secret_encrypted.<id>); previous_secret_encrypted (AAD
-- webhook_endpoints.previous_secret_encrypted.<id>) the one it replaced,
-- which keeps signing beside it until previous_secret_expires_at.
-- event_types lists the types it receives; '{*}' means all of them.
CREATE TABLE webhook_endpoints (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  url text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
  event_types text[] NOT NULL CHECK (cardinality(event_types) > 0),
  status text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  -- Why it is disabled: manual (a person), failing (every attempt failed
  -- for days), gone (the receiver answered 410 Gone: a REST Hook
  -- unsubscribe).
  disabled_reason text CHECK (disabled_reason IN ('manual', 'failing', 'gone')),
  disabled_message text,
  disabled_at timestamptz,
  secret_encrypted text NOT NULL,
  previous_secret_encrypted text,
  previous_secret_expires_at timestamptz,
  -- The first failed attempt since the last success; NULL while healthy.
  failing_since timestamptz,
  -- Deliveries in flight at once for this endpoint.
  max_concurrency integer NOT NULL DEFAULT 8 CHECK (max_concurrency BETWEEN 1 AND 64),
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'disabled') = (disabled_reason IS NOT NULL))
);

CREATE UNIQUE INDEX webhook_endpoints_org_id_id_key ON webhook_endpoints (org_id, id);
-- The fan-out in events.Record: an org's enabled endpoints.
CREATE INDEX webhook_endpoints_org_enabled_idx ON webhook_endpoints (org_id) WHERE status = 'enabled';

-- One event for one endpoint: what Svix calls a message attempt's parent.
-- Written by events.Record in the event's transaction for every enabled
-- endpoint subscribed to its type; the delivery worker claims the due ones.
-- status: pending (due at next_attempt_at), sending (claimed until
-- locked_until; a worker that dies leaves it to be claimed again after
-- that), succeeded, failed (retries exhausted, or the endpoint was
-- disabled).
CREATE TABLE webhook_messages (
  org_id uuid NOT NULL,
  endpoint_id uuid NOT NULL,
  event_id uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'succeeded', 'failed')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  last_attempt_at timestamptz,
  last_status_code integer,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (endpoint_id, event_id),
  FOREIGN KEY (org_id, endpoint_id) REFERENCES webhook_endpoints (org_id, id) ON DELETE CASCADE
);

-- The worker's queue: an endpoint's due messages in event order.
CREATE INDEX webhook_messages_due_idx ON webhook_messages (endpoint_id, event_id)
  WHERE status IN ('pending', 'sending');
CREATE INDEX webhook_messages_next_idx ON webhook_messages (next_attempt_at)
  WHERE status IN ('pending', 'sending');
CREATE INDEX webhook_messages_event_idx ON webhook_messages (event_id);

-- The delivery log: one row per HTTP attempt.
CREATE TABLE webhook_attempts (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL,
  endpoint_id uuid NOT NULL,
  event_id uuid NOT NULL,
  attempted_at timestamptz NOT NULL DEFAULT now(),
  -- NULL when no response came (timeout, refused, SSRF block).
  status_code integer,
  latency_ms integer NOT NULL CHECK (latency_ms >= 0),
  succeeded boolean NOT NULL,
  error text,
  -- The first bytes of the response body.
  response_snippet text,
  FOREIGN KEY (org_id, endpoint_id) REFERENCES webhook_endpoints (org_id, id) ON DELETE CASCADE,
  FOREIGN KEY (endpoint_id, event_id) REFERENCES webhook_messages (endpoint_id, event_id) ON DELETE CASCADE
);

CREATE INDEX webhook_attempts_endpoint_idx ON webhook_attempts (org_id, endpoint_id, id DESC);
CREATE INDEX webhook_attempts_message_idx ON webhook_attempts (endpoint_id, event_id, id DESC);

--bun:split

-- events is append-only for the service: it may read and insert, never
-- change or delete (retention runs in maint_prune_events).
GRANT SELECT, INSERT ON events TO leadpilot_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints, webhook_messages, webhook_attempts TO leadpilot_app;

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_attempts ENABLE ROW LEVEL SECURITY;

CREATE POLICY org_isolation ON events
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
CREATE POLICY org_isolation ON webhook_endpoints
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
CREATE POLICY org_isolation ON webhook_messages
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());
CREATE POLICY org_isolation ON webhook_attempts
  USING (org_id = app_current_org_id()) WITH CHECK (org_id = app_current_org_id());

--bun:split

-- Retention across all tenants: delete events older than p_before, at most
-- p_limit of them (oldest first), with their messages and attempts (by
-- cascade). Returns how many went; the maintenance job calls it until it
-- returns less than p_limit.
CREATE FUNCTION maint_prune_events(p_before timestamptz, p_limit integer)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE n bigint;
BEGIN
  DELETE FROM events WHERE id IN (
    SELECT e.id FROM events e WHERE e.occurred_at < p_before ORDER BY e.id LIMIT greatest(p_limit, 0));
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;

-- The endpoints with messages due by p_now, across all tenants, for the
-- delivery dispatcher (which runs as the RLS-bound app role): ids only.
CREATE FUNCTION webhook_due_endpoints(p_now timestamptz, p_limit integer)
RETURNS TABLE (org_id uuid, endpoint_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT m.org_id, m.endpoint_id FROM webhook_messages m
   WHERE m.status IN ('pending', 'sending')
     AND CASE WHEN m.status = 'pending' THEN m.next_attempt_at ELSE m.locked_until END <= p_now
   GROUP BY m.org_id, m.endpoint_id
   ORDER BY min(CASE WHEN m.status = 'pending' THEN m.next_attempt_at ELSE m.locked_until END)
   LIMIT greatest(p_limit, 0)
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_prune_events(timestamptz, integer), webhook_due_endpoints(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_prune_events(timestamptz, integer), webhook_due_endpoints(timestamptz, integer) TO leadpilot_app;
