package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/inbox"
)

// A mailbox whose sync keeps failing backs off, says so, notifies after
// three failures in a row, and after PauseAfter stops sending (a reply
// could go unnoticed); the first good sync clears all of it.
func TestFailingSyncBacksOffNotifiesAndPausesSendingUntilItRecovers(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	w.boxes.setPassword("wrong")
	o := inbox.SyncOptions{PauseAfter: 30 * time.Minute}
	sync := func() inbox.SyncResult {
		t.Helper()
		w.exec(`UPDATE email_accounts SET imap_next_sync_at = NULL WHERE id = $1`, w.account)
		res, err := w.inbox.SyncMailbox(ctx, w.boxes, w.actor.OrgID, w.account, o)
		require.NoError(t, err, "a mailbox's failure is recorded, not returned")
		return res
	}
	res := sync()
	require.Error(t, res.Err)
	require.Equal(t, 1, w.count(`SELECT imap_failures FROM email_accounts WHERE id = $1`, w.account))
	require.Equal(t, "error", w.str(`SELECT connection_status FROM email_accounts WHERE id = $1`, w.account), "a refused login marks the connection")
	require.Contains(t, w.str(`SELECT imap_last_error FROM email_accounts WHERE id = $1`, w.account), "authentication failed")
	require.Equal(t, 1, w.count(`SELECT count(*) FROM email_accounts WHERE id = $1 AND imap_next_sync_at >= $2`, w.account, w.clock.Now().Add(2*time.Minute)),
		"a refused login backs off")
	require.Equal(t, 1, w.count(`SELECT count(*) FROM email_accounts WHERE id = $1 AND imap_lease_until IS NULL`, w.account), "the lease is given back")

	sync()
	require.Zero(t, w.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND type = 'system'`, w.actor.OrgID))
	sync()
	require.Equal(t, 1, w.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND type = 'system' AND title LIKE 'Reply sync is failing%'`, w.actor.OrgID))
	require.Equal(t, "<nil>", w.str(`SELECT sending_paused_reason FROM email_accounts WHERE id = $1`, w.account))

	w.clock.Add(31 * time.Minute)
	sync()
	require.Equal(t, "reply_sync_broken", w.str(`SELECT sending_paused_reason FROM email_accounts WHERE id = $1`, w.account))
	require.Equal(t, 1, w.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND type = 'system' AND title LIKE 'Sending paused%'`, w.actor.OrgID))

	// Another run holds the mailbox: this one does nothing.
	w.exec(`UPDATE email_accounts SET imap_lease_until = $2 WHERE id = $1`, w.account, w.clock.Now().Add(time.Minute))
	res, err := w.inbox.SyncMailbox(ctx, w.boxes, w.actor.OrgID, w.account, o)
	require.NoError(t, err)
	require.True(t, res.Skipped)
	w.exec(`UPDATE email_accounts SET imap_lease_until = NULL WHERE id = $1`, w.account)

	w.boxes.setPassword(w.imap.Password)
	res = sync()
	require.NoError(t, res.Err)
	require.Equal(t, "<nil>", w.str(`SELECT sending_paused_reason FROM email_accounts WHERE id = $1`, w.account), "sending resumes")
	require.Equal(t, "connected", w.str(`SELECT connection_status FROM email_accounts WHERE id = $1`, w.account))
	require.Zero(t, w.count(`SELECT imap_failures FROM email_accounts WHERE id = $1`, w.account))
	require.Equal(t, 1, w.count(`SELECT count(*) FROM email_accounts WHERE id = $1 AND imap_failing_since IS NULL AND imap_last_error IS NULL AND imap_last_success_at IS NOT NULL`, w.account))
}
