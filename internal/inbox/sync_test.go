package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
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
	updates := func() int {
		t.Helper()
		return w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'email_account.updated' AND object_id = $2`, w.actor.OrgID, w.account)
	}
	res := sync()
	require.Error(t, res.Err)
	require.Equal(t, 1, w.count(`SELECT imap_failures FROM email_accounts WHERE id = $1`, w.account))
	require.Equal(t, 1, updates(), "the connection went into error: email_account.updated")
	require.Equal(t, "error", w.str(`SELECT data->>'connection_status' FROM events WHERE org_id = $1 AND type = 'email_account.updated' AND object_id = $2`, w.actor.OrgID, w.account))
	require.Equal(t, "error", w.str(`SELECT connection_status FROM email_accounts WHERE id = $1`, w.account), "a refused login marks the connection")
	require.Contains(t, w.str(`SELECT imap_last_error FROM email_accounts WHERE id = $1`, w.account), "authentication failed")
	require.Equal(t, 1, w.count(`SELECT count(*) FROM email_accounts WHERE id = $1 AND imap_next_sync_at >= $2`, w.account, w.clock.Now().Add(2*time.Minute)),
		"a refused login backs off")
	require.Equal(t, 1, w.count(`SELECT count(*) FROM email_accounts WHERE id = $1 AND imap_lease_until IS NULL`, w.account), "the lease is given back")

	sync()
	require.Zero(t, w.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND type = 'system'`, w.actor.OrgID))
	require.Equal(t, 1, updates(), "a failure that changes nothing the account shows writes no event")
	sync()
	require.Equal(t, 1, w.count(`SELECT count(*) FROM notifications WHERE org_id = $1 AND type = 'system' AND title LIKE 'Reply sync is failing%'`, w.actor.OrgID))
	require.Equal(t, "<nil>", w.str(`SELECT sending_paused_reason FROM email_accounts WHERE id = $1`, w.account))

	w.clock.Add(31 * time.Minute)
	sync()
	require.Equal(t, "reply_sync_broken", w.str(`SELECT sending_paused_reason FROM email_accounts WHERE id = $1`, w.account))
	require.Equal(t, 2, updates(), "sending paused: email_account.updated")
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
	require.Equal(t, 3, updates(), "connected and sending again: email_account.updated")
	require.NoError(t, sync().Err)
	require.Equal(t, 3, updates(), "a good sync of a good mailbox writes no event")
	require.Zero(t, w.count(`SELECT imap_failures FROM email_accounts WHERE id = $1`, w.account))
	require.Equal(t, 1, w.count(`SELECT count(*) FROM email_accounts WHERE id = $1 AND imap_failing_since IS NULL AND imap_last_error IS NULL AND imap_last_success_at IS NOT NULL`, w.account))
}

// A mailbox paused for broken reply sync sends nothing (the engine holds
// its messages with reply_sync_broken) until a sync succeeds.
func TestAMailboxPausedForBrokenSyncSendsNothingUntilSyncRecovers(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	ana := w.lead("ana@globex.test")
	w.exec(`UPDATE email_accounts SET sending_paused_reason = 'reply_sync_broken' WHERE id = $1`, w.account)
	w.sendFirstSteps()
	require.Empty(t, w.smtp.Messages())
	require.Equal(t, "scheduled", w.str(`SELECT status FROM messages WHERE lead_id = $1 AND step = 1`, ana))
	require.Equal(t, "reply_sync_broken", w.str(`SELECT blocked_reason FROM messages WHERE lead_id = $1 AND step = 1`, ana))

	res, err := w.inbox.SyncMailbox(ctx, w.boxes, w.actor.OrgID, w.account, inbox.SyncOptions{})
	require.NoError(t, err)
	require.NoError(t, res.Err)
	w.clock.Add(20 * time.Minute)
	for range 3 {
		_, err := w.eng.Dispatch(ctx)
		require.NoError(t, err)
		for _, tk := range w.sends.take() {
			require.NoError(t, w.eng.SendBatch(ctx, tk[0].(uuid.UUID), tk[1].(uuid.UUID), tk[2].([]uuid.UUID)))
		}
	}
	require.Len(t, w.smtp.Messages(), 1, "sync recovered: the mailbox sends again")
	require.Equal(t, "sent", w.str(`SELECT status FROM messages WHERE lead_id = $1 AND step = 1`, ana))
}

// A deactivated mailbox (the deliverability guard turned it off) sends
// nothing, but its replies are still read.
func TestADeactivatedMailboxIsStillRead(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	ana := w.lead("ana@globex.test")
	sent := w.sendFirstSteps()
	w.exec(`UPDATE email_accounts SET is_active = false WHERE id = $1`, w.account)
	due, err := w.inbox.Due(ctx, 1000)
	require.NoError(t, err)
	require.Contains(t, due, [2]uuid.UUID{w.actor.OrgID, w.account}, "the sweep still syncs it")
	w.imap.Append(t, reply("ana@globex.test", "sam@send.test", sent["ana@globex.test"], "Re: hi", "Please stop emailing me."), w.clock.Now())
	res, err := w.inbox.SyncMailbox(ctx, w.boxes, w.actor.OrgID, w.account, inbox.SyncOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, res.Stored)
	require.Equal(t, "cancelled", w.str(`SELECT status FROM messages WHERE lead_id = $1 AND step = 2`, ana))
}

// A good sync clears only what it can vouch for: a connection error from
// SMTP (sending, the test's SMTP steps) stays, with no event; one from
// IMAP, or of unknown side, clears, with email_account.updated.
func TestAGoodSyncLeavesAnSMTPErrorAndClearsItsOwn(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	o := inbox.SyncOptions{PauseAfter: 30 * time.Minute}
	updates := func() int {
		t.Helper()
		return w.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'email_account.updated' AND object_id = $2`, w.actor.OrgID, w.account)
	}
	sync := func() {
		t.Helper()
		w.exec(`UPDATE email_accounts SET imap_next_sync_at = NULL WHERE id = $1`, w.account)
		res, err := w.inbox.SyncMailbox(ctx, w.boxes, w.actor.OrgID, w.account, o)
		require.NoError(t, err)
		require.NoError(t, res.Err)
	}
	state := func() string {
		t.Helper()
		return w.str(`SELECT connection_status || ' | ' || coalesce(last_error, '-') || ' | ' || coalesce(error_source, '-') FROM email_accounts WHERE id = $1`, w.account)
	}

	w.exec(`UPDATE email_accounts SET connection_status = 'error', last_error = 'smtp_auth: 535 refused', error_source = 'smtp' WHERE id = $1`, w.account)
	sync()
	require.Equal(t, "error | smtp_auth: 535 refused | smtp", state(), "logging in to IMAP says nothing of SMTP")
	require.Zero(t, updates())

	for _, source := range []string{"'imap'", "NULL"} {
		w.exec(`UPDATE email_accounts SET connection_status = 'error', last_error = 'refused', error_source = `+source+` WHERE id = $1`, w.account)
		before := updates()
		sync()
		require.Equal(t, "connected | - | -", state(), "error_source %s", source)
		require.Equal(t, before+1, updates(), "connected again: email_account.updated")
	}
}
