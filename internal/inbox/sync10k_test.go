package inbox_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/imaptest"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/testkit"
)

// A mailbox of 10,000 messages (replies in the thread and by address,
// out-of-office replies, bounces, complaints, strangers' mail) is read in
// runs of at most 3,000, each continuing where the last stopped: every
// message is stored exactly once, threads count their messages right,
// and 500 that arrive afterwards are exactly the 500 the next run stores.
func TestTenThousandMessageMailboxSyncsIncrementallyWithoutDuplicates(t *testing.T) {
	ctx := context.Background()
	srv := imaptest.Start(t)
	leads, sentIDs := leadSet(bulkLeads)
	w := newBulk(t, testkit.DB(t), testkit.OwnerDB(t), srv, leads, sentIDs)
	org := w.actor.OrgID
	g := newMailGen(t, 1, bulkAt, "sam@send.test")
	c := g.corpus(10000, leads, sentIDs)
	appendAll(t, srv, c.msgs, bulkAt)
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		require.NoError(t, w.owner.Pool.QueryRow(ctx, sql, args...).Scan(&n))
		return n
	}

	sync := func() inbox.SyncResult {
		t.Helper()
		res, err := w.inbox.SyncMailbox(ctx, w.boxes, org, w.account, inbox.SyncOptions{MaxPerRun: 3000})
		require.NoError(t, err)
		require.NoError(t, res.Err)
		require.False(t, res.Skipped, "%+v", res)
		return res
	}
	var runs, fetched, stored int
	for more := true; more; {
		res := sync()
		runs++
		fetched += res.Fetched
		stored += res.Stored
		require.LessOrEqual(t, res.Fetched, 3000, "a run is bounded")
		require.Equal(t, res.Fetched, res.Stored, "run %d stored what it fetched, nothing twice", runs)
		more = res.More
		require.Less(t, runs, 10)
	}
	require.Equal(t, 4, runs, "3,000 + 3,000 + 3,000 + 1,000")
	require.Equal(t, 10000, fetched)
	require.Equal(t, 10000, stored)

	// Stored exactly once: one row per message, per Message-ID, per UID.
	require.Equal(t, 10000, count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1`, org))
	require.Equal(t, 10000, count(`SELECT count(DISTINCT message_id) FROM inbox_messages WHERE org_id = $1`, org))
	require.Equal(t, 10000, count(`SELECT count(DISTINCT imap_uid) FROM inbox_messages WHERE org_id = $1 AND imap_uid BETWEEN 1 AND 10000`, org))
	require.Equal(t, 1, count(`SELECT count(*) FROM email_accounts WHERE id = $1 AND imap_last_uid = 10000 AND imap_messages_synced = 10000
		AND imap_failures = 0 AND imap_lease_until IS NULL AND imap_last_success_at IS NOT NULL`, w.account))
	require.Equal(t, 10000, count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'reply.received'`, org))

	// Each message recognised as what it is, and matched to its lead
	// unless it came from a stranger.
	for _, k := range []string{inbox.KindReply, inbox.KindAutoReply, inbox.KindBounce, inbox.KindComplaint} {
		var cats []mixCategory
		for cat, kind := range kindOf {
			if kind == k {
				cats = append(cats, cat)
			}
		}
		require.Equal(t, c.count(cats...), count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1 AND kind = $2`, org, k), "kind %s", k)
	}
	matched := 10000 - c.count(mixStranger)
	require.Equal(t, matched, count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1 AND lead_id IS NOT NULL`, org))
	require.Equal(t, c.count(mixStranger), count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1 AND lead_id IS NULL AND inbox_thread_id IS NULL`, org))
	require.Equal(t, c.count(mixThreaded), count(`SELECT count(*) FROM inbox_messages i JOIN messages m ON m.org_id = i.org_id AND m.id = i.outbound_message_id
		WHERE i.org_id = $1 AND i.kind = 'reply' AND m.step = 1`, org), "every reply in the thread names our step 1")

	// Threads: one per lead that wrote, their counts summing to the
	// matched messages, each equal to its own messages.
	require.Equal(t, count(`SELECT count(DISTINCT lead_id) FROM inbox_messages WHERE org_id = $1`, org), count(`SELECT count(*) FROM inbox_threads WHERE org_id = $1`, org))
	require.Equal(t, matched, count(`SELECT coalesce(sum(message_count), 0) FROM inbox_threads WHERE org_id = $1`, org))
	require.Equal(t, matched, count(`SELECT coalesce(sum(inbound_count), 0) FROM inbox_threads WHERE org_id = $1`, org))
	require.Equal(t, matched, count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1 AND inbox_thread_id IS NOT NULL`, org))
	require.Zero(t, count(`SELECT count(*) FROM inbox_threads t WHERE t.org_id = $1 AND t.message_count <> (
		SELECT count(*) FROM inbox_messages i WHERE i.org_id = t.org_id AND i.inbox_thread_id = t.id)`, org))
	require.Zero(t, count(`SELECT count(*) FROM inbox_messages i JOIN inbox_threads t ON t.id = i.inbox_thread_id WHERE i.org_id = $1 AND t.lead_id <> i.lead_id`, org),
		"no message in another lead's thread")

	// What a person wrote is queued for the classifier, once.
	queued := w.classify.take()
	distinct := map[uuid.UUID]bool{}
	for _, id := range queued {
		distinct[id] = true
	}
	require.Len(t, queued, c.count(mixThreaded, mixByAddress, mixStranger))
	require.Len(t, distinct, len(queued))

	// 500 more arrive: the next run stores exactly those.
	more := g.corpus(500, leads, sentIDs)
	appendAll(t, srv, more.msgs, bulkAt)
	res := sync()
	require.Equal(t, 500, res.Fetched)
	require.Equal(t, 500, res.Stored)
	require.False(t, res.More)
	require.Equal(t, 10500, count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1`, org))
	require.Equal(t, 10500, count(`SELECT count(DISTINCT message_id) FROM inbox_messages WHERE org_id = $1`, org))
	require.Equal(t, 1, count(`SELECT count(*) FROM email_accounts WHERE id = $1 AND imap_last_uid = 10500 AND imap_messages_synced = 10500`, w.account))
	require.Equal(t, 10500-c.count(mixStranger)-more.count(mixStranger), count(`SELECT coalesce(sum(message_count), 0) FROM inbox_threads WHERE org_id = $1`, org))

	// And then nothing is new.
	res = sync()
	require.Zero(t, res.Fetched)
	require.Zero(t, res.Stored)
	require.Equal(t, 10500, count(`SELECT count(*) FROM inbox_messages WHERE org_id = $1`, org))
}
