-- The dispatcher no longer writes a row version that changes an indexed
-- column. It used to move each due message scheduled -> queued: status is
-- in the key or predicate of five of messages' indexes, so that update
-- wrote a new entry into every index (nine) for a state that lasts
-- seconds. Now it stamps dispatched_at, which no index covers: with room
-- on the page (fillfactor below) the update is HOT, heap-only. A message
-- stays scheduled until its send task claims it (scheduled -> sending,
-- conditional on its being still scheduled and due: a second delivery of
-- the task finds nothing to claim). dispatched_at is when its task was
-- enqueued, NULL when no task is out for it: the claim and every hold-back
-- clear it; the dispatcher enqueues only messages without it, and again
-- those whose task is older than its RequeueAfter (a task Redis lost).
-- 'queued' stays a valid status for reading; nothing writes it any more.
ALTER TABLE messages ADD COLUMN dispatched_at timestamptz;

--bun:split

UPDATE messages SET status = 'scheduled', dispatched_at = updated_at WHERE status = 'queued';

--bun:split

-- Room on each page for the dispatcher's stamp to stay HOT (pages
-- written from now on; see 20261130000001 for leads and sequences). The
-- dispatcher stamps whole pages of due messages in one statement, so a
-- page needs room for a second version of most of its rows: measured with
-- BenchmarkSend, 85 made 15 % of the stamps HOT, 60 two thirds, 50 all of
-- them. Median Postgres CPU per message (20,000 leads, four rounds each,
-- on a busy host): 309 µs before, 288 with 60, 283 with 50. 60 is the
-- trade: new pages hold at most 60 % rows (history included), 50 would
-- take a fifth more space for a difference within the noise.
ALTER TABLE messages SET (fillfactor = 60);

--bun:split

DROP FUNCTION IF EXISTS maint_claim_due_messages(integer, timestamptz);

--bun:split

DROP FUNCTION IF EXISTS maint_stale_queued_messages(interval, integer);

--bun:split

DROP FUNCTION IF EXISTS maint_touch_queued_messages(uuid[]);

--bun:split

-- The dispatcher's claim: due messages of active campaigns with no task
-- out, oldest first, due at p_now (the engine's clock), at most p_limit,
-- stamped dispatched_at in one statement; SKIP LOCKED so several
-- dispatchers never take the same one. Across tenants as the RLS-bound
-- app role, hence SECURITY DEFINER; ids only. A message of a paused
-- campaign stays as it is (resuming reschedules it).
CREATE FUNCTION maint_dispatch_due_messages(p_limit integer, p_now timestamptz)
RETURNS TABLE (org_id uuid, email_account_id uuid, id uuid)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH due AS (
    SELECT m.id FROM messages m
    WHERE m.status = 'scheduled' AND m.scheduled_for <= p_now AND m.dispatched_at IS NULL
      AND EXISTS (SELECT 1 FROM campaigns c WHERE c.org_id = m.org_id AND c.id = m.campaign_id AND c.status = 'active')
    ORDER BY m.scheduled_for
    LIMIT greatest(p_limit, 0)
    FOR UPDATE OF m SKIP LOCKED
  )
  UPDATE messages m SET dispatched_at = now()
  FROM due WHERE m.id = due.id
  RETURNING m.org_id, m.email_account_id, m.id
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_dispatch_due_messages(integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_dispatch_due_messages(integer, timestamptz) TO leadpilot_app;

--bun:split

-- Due messages whose task went out longer than p_older_than ago and that
-- are still not claimed: the task was lost (Redis flushed, an enqueue that
-- failed) or the message was deferred after it was dispatched. The
-- dispatcher enqueues them again; the send task's claim makes a second
-- delivery send nothing.
CREATE FUNCTION maint_stale_dispatched_messages(p_older_than interval, p_limit integer, p_now timestamptz)
RETURNS TABLE (org_id uuid, email_account_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT m.org_id, m.email_account_id, m.id FROM messages m
   WHERE m.status = 'scheduled' AND m.scheduled_for <= p_now
     AND m.dispatched_at < now() - greatest(p_older_than, interval '0')
   ORDER BY m.dispatched_at
   LIMIT greatest(p_limit, 0)
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_stale_dispatched_messages(interval, integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_stale_dispatched_messages(interval, integer, timestamptz) TO leadpilot_app;

--bun:split

-- The dispatcher stamps the messages it enqueues again, so they wait
-- another RequeueAfter before the next try.
CREATE FUNCTION maint_touch_dispatched_messages(p_ids uuid[])
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  UPDATE messages SET dispatched_at = now() WHERE id = ANY(p_ids) AND status = 'scheduled' AND dispatched_at IS NOT NULL
$$;

--bun:split

REVOKE ALL ON FUNCTION maint_touch_dispatched_messages(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION maint_touch_dispatched_messages(uuid[]) TO leadpilot_app;
