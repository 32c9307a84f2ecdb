package inbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/emailaccounts"
	"github.com/leadpilot/leadpilot/internal/imapsync"
	"github.com/leadpilot/leadpilot/internal/notifications"
)

// Mailboxes returns how to read an account's mailbox;
// *emailaccounts.Service is one. It returns ErrNoMailbox-like errors for
// accounts without one (the sync then does nothing).
type Mailboxes interface {
	IMAP(ctx context.Context, org, id uuid.UUID) (imapsync.Config, error)
	// RecordUpdated writes email_account.updated for the account, in tx:
	// sync changed its connection status or paused or resumed its sending.
	RecordUpdated(ctx context.Context, tx bun.IDB, org, id uuid.UUID) error
}

// SyncOptions tune reply sync; zero values take the defaults.
type SyncOptions struct {
	// Interval is the wait between two syncs of a healthy mailbox
	// (default 1m: a reply is noticed within about a minute).
	Interval time.Duration
	// Backfill is how far back the first sync reads (default 14 days).
	Backfill time.Duration
	// BatchSize is messages per fetch and per transaction (default 200);
	// MaxPerRun bounds one run (default 2,000; the next run continues at
	// once).
	BatchSize, MaxPerRun int
	// Lease is how long one run may hold a mailbox (default 10m).
	Lease time.Duration
	// NotifyAfter is how many failed runs in a row notify the owners and
	// admins (default 3); PauseAfter is how long sync may fail before the
	// mailbox stops sending (default 30m).
	NotifyAfter int
	PauseAfter  time.Duration
}

func (o SyncOptions) withDefaults() SyncOptions {
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.Backfill <= 0 {
		o.Backfill = 14 * 24 * time.Hour
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 200
	}
	if o.MaxPerRun <= 0 {
		o.MaxPerRun = 2000
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Minute
	}
	if o.NotifyAfter <= 0 {
		o.NotifyAfter = 3
	}
	if o.PauseAfter <= 0 {
		o.PauseAfter = 30 * time.Minute
	}
	return o
}

// SyncResult says what one sync run did.
type SyncResult struct {
	// Skipped: another run holds the mailbox, or it has none to read.
	Skipped bool
	Fetched int
	Stored  int
	// More: the run stopped at MaxPerRun; the next one continues.
	More  bool
	Reset bool
	// Err is the failure recorded on the mailbox (nil on success).
	Err error
}

// syncState is what a run reads of its mailbox, leased.
type syncState struct {
	UIDValidity *int64 `bun:"imap_uidvalidity"`
	LastUID     *int64 `bun:"imap_last_uid"`
	Email       string `bun:"email_address"`
}

// SyncMailbox reads what is new in account's mailbox of org and ingests
// it (a deactivated mailbox too: it sends nothing, but a reply to what it
// sent must still stop its sequence), batch by batch, each batch in one transaction with the mailbox's
// new UID (exactly once, even when a run dies midway). One run per
// mailbox at a time (a lease). Success records last success and clears
// the failure state, and lets a mailbox paused for broken sync send
// again; a failure records the error, backs off (longer for a refused
// login, which also marks the account's connection as in error), notifies
// after NotifyAfter failures in a row, and after PauseAfter of failing
// stops the mailbox's sending (reply_sync_broken): stop-on-reply must
// never be silently off. The failure is recorded, not returned: the
// returned error is only for what could not be recorded.
func (s *Service) SyncMailbox(ctx context.Context, mailboxes Mailboxes, org, account uuid.UUID, o SyncOptions) (SyncResult, error) {
	o = o.withDefaults()
	var res SyncResult
	now := s.opts.Now()
	var st []syncState
	err := s.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		return tx.NewRaw(`UPDATE email_accounts SET imap_lease_until = ?, imap_last_attempt_at = ?
			WHERE org_id = ? AND id = ? AND (imap_lease_until IS NULL OR imap_lease_until <= ?)
			RETURNING imap_uidvalidity, imap_last_uid, email_address`,
			now.Add(o.Lease), now, org, account, now).Scan(ctx, &st)
	})
	if err = database.Interpret(err); err != nil && !errors.Is(err, database.ErrNotFound) {
		return res, fmt.Errorf("inbox: lease mailbox %s: %w", account, err)
	}
	if len(st) == 0 {
		res.Skipped = true
		return res, nil
	}
	cfg, err := mailboxes.IMAP(ctx, org, account)
	if errors.Is(err, emailaccounts.ErrNoIMAP) {
		// Nothing to read (a sandbox): release and stay quiet.
		res.Skipped = true
		return res, s.release(ctx, org, account, now.Add(o.Interval))
	}
	if err != nil {
		// The settings cannot be read (a password that does not
		// decrypt, no password): a failure like any other, recorded,
		// and in time it pauses sending.
		res.Err = err
		return res, s.failed(context.WithoutCancel(ctx), mailboxes, org, account, st[0].Email, err, o)
	}
	state := imapsync.State{}
	if st[0].UIDValidity != nil && st[0].LastUID != nil {
		state = imapsync.State{UIDValidity: uint32(*st[0].UIDValidity), LastUID: uint32(*st[0].LastUID)}
	}
	// The first sync (and the one after a UIDVALIDITY change) reads back
	// Backfill; later ones read every new UID whatever its date.
	since := now.Add(-o.Backfill)
	sres, serr := imapsync.Sync(ctx, cfg, state, imapsync.Options{Since: since, BatchSize: o.BatchSize, MaxMessages: o.MaxPerRun},
		func(ctx context.Context, b imapsync.Batch) error {
			in := make([]Incoming, len(b.Messages))
			for i, m := range b.Messages {
				in[i] = Incoming{Raw: m.Raw, UIDValidity: b.State.UIDValidity, UID: m.UID, ReceivedAt: m.InternalDate}
			}
			ir, err := s.Ingest(ctx, org, account, in, func(ctx context.Context, tx bun.IDB) error {
				_, err := tx.ExecContext(ctx, `UPDATE email_accounts SET imap_uidvalidity = ?, imap_last_uid = ? WHERE org_id = ? AND id = ?`,
					int64(b.State.UIDValidity), int64(b.State.LastUID), org, account)
				return database.Interpret(err)
			})
			res.Stored += ir.Stored
			return err
		})
	res.Fetched, res.More, res.Reset = sres.Fetched, sres.More, sres.Reset
	if serr != nil {
		res.Err = serr
		// Recorded even when the task's time ran out.
		return res, s.failed(context.WithoutCancel(ctx), mailboxes, org, account, st[0].Email, serr, o)
	}
	next := now.Add(o.Interval)
	if res.More {
		next = now
	}
	return res, s.succeeded(context.WithoutCancel(ctx), mailboxes, org, account, next)
}

// release gives the lease back.
func (s *Service) release(ctx context.Context, org, account uuid.UUID, next time.Time) error {
	return s.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.ExecContext(ctx, `UPDATE email_accounts SET imap_lease_until = NULL, imap_next_sync_at = ? WHERE org_id = ? AND id = ?`, next, org, account)
		return database.Interpret(err)
	})
}

// imapMayClear is when a good sync clears the connection's error: it is in
// error, and not for SMTP (an error from sending, or from the test's SMTP
// steps, is not the sync's to clear: logging in to IMAP says nothing of
// SMTP).
const imapMayClear = `a.connection_status = 'error' AND a.error_source IS DISTINCT FROM 'smtp'`

// succeeded records a good run: the sync's failure state clears (and the
// connection's error, unless SMTP's), a mailbox that stopped sending for
// broken sync sends again. When that changes what the account shows (its
// connection status, or its sending paused), email_account.updated says
// so.
func (s *Service) succeeded(ctx context.Context, mailboxes Mailboxes, org, account uuid.UUID, next time.Time) error {
	return s.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var was []struct {
			Status string  `bun:"was_status"`
			Now    string  `bun:"now_status"`
			Paused *string `bun:"was_paused"`
		}
		// o is the row as it was: locked (FOR NO KEY UPDATE), so a change
		// committed while this waited for the row is what it sees, not the
		// statement's older snapshot.
		err := tx.NewRaw(`UPDATE email_accounts a SET imap_lease_until = NULL, imap_next_sync_at = ?,
				imap_last_success_at = ?, last_synced_at = ?, imap_last_error = NULL, imap_failures = 0, imap_failing_since = NULL,
				sending_paused_reason = NULL,
				connection_status = CASE WHEN `+imapMayClear+` THEN 'connected' ELSE a.connection_status END,
				last_error = CASE WHEN `+imapMayClear+` THEN NULL ELSE a.last_error END,
				error_source = CASE WHEN `+imapMayClear+` THEN NULL ELSE a.error_source END, updated_at = now()
			FROM (SELECT connection_status AS was_status, sending_paused_reason AS was_paused FROM email_accounts WHERE org_id = ? AND id = ? FOR NO KEY UPDATE) o
			WHERE a.org_id = ? AND a.id = ? RETURNING o.was_status, a.connection_status AS now_status, o.was_paused`,
			next, s.opts.Now(), s.opts.Now(), org, account, org, account).Scan(ctx, &was)
		if err = database.Interpret(err); err != nil && !errors.Is(err, database.ErrNotFound) {
			return fmt.Errorf("inbox: record sync of %s: %w", account, err)
		}
		if len(was) == 0 || (was[0].Status == was[0].Now && was[0].Paused == nil) {
			return nil
		}
		return mailboxes.RecordUpdated(ctx, tx, org, account)
	})
}

// failed records a failed run, backs off, notifies and pauses sending as
// SyncMailbox says.
//
// A refused login that puts the connection in error (or changes its
// error), and the pause, change what the account shows:
// email_account.updated says so.
func (s *Service) failed(ctx context.Context, mailboxes Mailboxes, org, account uuid.UUID, email string, cause error, o SyncOptions) error {
	now := s.opts.Now()
	auth := errors.Is(cause, imapsync.ErrAuth)
	words := cause.Error()
	if len(words) > 1000 {
		words = words[:1000]
	}
	return s.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var r []struct {
			Failures     int        `bun:"imap_failures"`
			FailingSince *time.Time `bun:"imap_failing_since"`
			Paused       *string    `bun:"sending_paused_reason"`
			WasStatus    string     `bun:"was_status"`
			WasError     *string    `bun:"was_error"`
			NowStatus    string     `bun:"now_status"`
			NowError     *string    `bun:"now_error"`
		}
		// o is the row as it was, locked (see succeeded).
		if err := tx.NewRaw(`UPDATE email_accounts a SET imap_lease_until = NULL, imap_failures = a.imap_failures + 1,
				imap_failing_since = coalesce(a.imap_failing_since, ?), imap_last_error = ?,
				connection_status = CASE WHEN ? AND a.connection_status <> 'disabled' THEN 'error' ELSE a.connection_status END,
				last_error = CASE WHEN ? AND a.connection_status <> 'disabled' THEN ? ELSE a.last_error END,
				error_source = CASE WHEN ? AND a.connection_status <> 'disabled' THEN 'imap' ELSE a.error_source END, updated_at = now()
			FROM (SELECT connection_status AS was_status, last_error AS was_error FROM email_accounts WHERE org_id = ? AND id = ? FOR NO KEY UPDATE) o
			WHERE a.org_id = ? AND a.id = ? RETURNING a.imap_failures, a.imap_failing_since, a.sending_paused_reason,
				o.was_status, o.was_error, a.connection_status AS now_status, a.last_error AS now_error`,
			now, words, auth, auth, words, auth, org, account, org, account).Scan(ctx, &r); err != nil || len(r) == 0 {
			if err == nil {
				return nil // the account is gone
			}
			return fmt.Errorf("inbox: record sync failure of %s: %w", account, database.Interpret(err))
		}
		f := r[0]
		// Backoff: a refused login doubles from 2 minutes to an hour
		// (retrying a wrong password fast only locks the account); a
		// network failure grows by a minute a time to 15.
		wait := min(time.Duration(f.Failures)*time.Minute, 15*time.Minute)
		if auth {
			wait = min(2*time.Minute<<min(f.Failures-1, 5), time.Hour)
		}
		pause := f.Paused == nil && f.FailingSince != nil && now.Sub(*f.FailingSince) >= o.PauseAfter
		if _, err := tx.ExecContext(ctx, `UPDATE email_accounts SET imap_next_sync_at = ?,
				sending_paused_reason = CASE WHEN ? THEN 'reply_sync_broken' ELSE sending_paused_reason END WHERE org_id = ? AND id = ?`,
			now.Add(wait), pause, org, account); err != nil {
			return fmt.Errorf("inbox: back off %s: %w", account, database.Interpret(err))
		}
		if pause || f.WasStatus != f.NowStatus || !equalStrings(f.WasError, f.NowError) {
			if err := mailboxes.RecordUpdated(ctx, tx, org, account); err != nil {
				return err
			}
		}
		var n *notifications.New
		switch {
		case pause:
			n = &notifications.New{Type: notifications.TypeSystem, Title: "Sending paused: replies to " + email + " cannot be read",
				Message: fmt.Sprintf("Reply sync has failed for %s, so a reply could go unnoticed and its sequence go on. Sending from this mailbox is paused until sync works again. Last error: %s",
					now.Sub(*f.FailingSince).Round(time.Minute), words)}
		case f.Failures == o.NotifyAfter:
			n = &notifications.New{Type: notifications.TypeSystem, Title: "Reply sync is failing for " + email,
				Message: fmt.Sprintf("The last %d attempts to read this mailbox failed: %s", f.Failures, words)}
		}
		if n != nil {
			n.ActionURL = "/settings/email-accounts/" + account.String()
			if _, err := notifications.NotifyAdmins(ctx, tx, org, *n); err != nil {
				return err
			}
		}
		return nil
	})
}

// Due lists mailboxes whose sync is due (across organisations: the
// scheduler's scan), at most limit.
func (s *Service) Due(ctx context.Context, limit int) ([][2]uuid.UUID, error) {
	var rows []struct {
		OrgID uuid.UUID `bun:"org_id,type:uuid"`
		ID    uuid.UUID `bun:"id,type:uuid"`
	}
	if err := s.db.Bun.NewRaw(`SELECT org_id, id FROM maint_mailboxes_to_sync(?, ?)`, s.opts.Now(), limit).Scan(ctx, &rows); err != nil &&
		database.Interpret(err) != database.ErrNotFound {
		return nil, fmt.Errorf("inbox: mailboxes to sync: %w", database.Interpret(err))
	}
	out := make([][2]uuid.UUID, len(rows))
	for i, r := range rows {
		out[i] = [2]uuid.UUID{r.OrgID, r.ID}
	}
	return out, nil
}

// equalStrings says whether a and b are both nil or hold the same text.
func equalStrings(a, b *string) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
