package sending

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/suppressions"
)

// What the inbox learns after a send, applied to the messages and the
// schedule in the inbox's own transaction, so that a reply, a bounce or a
// complaint is stored if and only if its effects are.

// BlockedReplySyncBroken, BlockedLeadOutOfOffice and BlockedSoftBounce
// hold messages back for what the inbox found: the mailbox's reply sync
// failing (stop-on-reply cannot be trusted, so it does not send), the
// lead away until a return date, and a soft bounce waiting for its retry.
const (
	BlockedReplySyncBroken = "reply_sync_broken"
	BlockedLeadOutOfOffice = "lead_out_of_office"
	BlockedSoftBounce      = "soft_bounce"
)

// RepliedInTx records a person's reply from each of leadIDs: a lead whose
// campaign stops on reply (stop_on_reply, the default; a lead outside any
// campaign always stops) has its scheduled and queued messages cancelled
// (lead_replied), and the messages answered (our messages the replies
// name) become replied. It returns the leads it stopped. The leads'
// status is the caller's (leads.ChangeStatus).
func (e *Engine) RepliedInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, leadIDs, answered []uuid.UUID) ([]uuid.UUID, error) {
	if len(answered) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'replied', replied_at = coalesce(replied_at, now()), updated_at = now()
			WHERE org_id = ? AND id = ANY(?::uuid[]) AND status IN ('sent', 'delivered', 'read')`, org, pgdialect.Array(answered)); err != nil {
			return nil, fmt.Errorf("sending: mark replied: %w", database.Interpret(err))
		}
	}
	if len(leadIDs) == 0 {
		return nil, nil
	}
	var stop []uuid.UUID
	if err := tx.NewRaw(`SELECT l.id FROM leads l LEFT JOIN campaigns c ON c.org_id = l.org_id AND c.id = l.campaign_id
		WHERE l.org_id = ? AND l.id = ANY(?::uuid[]) AND coalesce((c.settings->>'stop_on_reply')::boolean, true)`,
		org, pgdialect.Array(leadIDs)).Scan(ctx, &stop); err != nil && database.Interpret(err) != database.ErrNotFound {
		return nil, fmt.Errorf("sending: stop on reply: %w", database.Interpret(err))
	}
	if len(stop) == 0 {
		return nil, nil
	}
	return stop, cancelPending(ctx, tx, org, stop, BlockedLeadReplied)
}

// DeferInTx holds lead's scheduled messages until at least until (an
// out-of-office reply's return date): each due earlier waits with
// lead_out_of_office, and the send window places it when it comes due.
// It returns how many it moved.
func (e *Engine) DeferInTx(ctx context.Context, tx bun.IDB, org, lead uuid.UUID, until time.Time) (int, error) {
	res, err := tx.ExecContext(ctx, `UPDATE messages SET scheduled_for = ?, blocked_reason = ?, updated_at = now()
		WHERE org_id = ? AND lead_id = ? AND status = 'scheduled' AND scheduled_for < ?`, until, BlockedLeadOutOfOffice, org, lead, until)
	if err != nil {
		return 0, fmt.Errorf("sending: defer lead %s: %w", lead, database.Interpret(err))
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// UndoReplyInTx undoes what RepliedInTx did for replies that turned out
// to be out-of-office notices (the classifier said so after ingest took
// them for a person's answer): the messages they answered (answered) are
// no longer replied (sent, delivered or read, as they were), and each of
// leadIDs has the messages its
// "reply" cancelled (lead_replied) scheduled again, due no earlier than
// now, in a campaign still running (active or paused), unless its step
// was scheduled anew meanwhile; the claim re-checks the lead as for any
// send. It writes message.scheduled for them (while someone listens) and
// returns how many it scheduled. The caller picks the leads (no other
// reply of a person from them) and moves their status back
// (leads.ChangeStatus to contacted); a return date is DeferManyInTx's.
func (e *Engine) UndoReplyInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, leadIDs, answered []uuid.UUID) (int, error) {
	if len(answered) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = CASE WHEN read_at IS NOT NULL THEN 'read'
				WHEN delivered_at IS NOT NULL THEN 'delivered' ELSE 'sent' END, replied_at = NULL, updated_at = now()
			WHERE org_id = ? AND id = ANY(?::uuid[]) AND status = 'replied'`, org, pgdialect.Array(answered)); err != nil {
			return 0, fmt.Errorf("sending: not replied: %w", database.Interpret(err))
		}
	}
	if len(leadIDs) == 0 {
		return 0, nil
	}
	var rows []messageRow
	if err := tx.NewRaw(`UPDATE messages m SET status = 'scheduled', blocked_reason = NULL, scheduled_for = greatest(m.scheduled_for, ?::timestamptz),
			dispatched_at = NULL, updated_at = now()
		WHERE m.org_id = ? AND m.lead_id = ANY(?::uuid[]) AND m.status = 'cancelled' AND m.blocked_reason = ?
		  AND EXISTS (SELECT 1 FROM campaigns c WHERE c.org_id = m.org_id AND c.id = m.campaign_id AND c.status IN ('active', 'paused'))
		  AND NOT EXISTS (SELECT 1 FROM messages o WHERE o.org_id = m.org_id AND o.sequence_id = m.sequence_id AND o.step = m.step
		                  AND o.status <> 'cancelled')
		RETURNING m.*`, e.opts.Now(), org, pgdialect.Array(leadIDs), BlockedLeadReplied).Scan(ctx, &rows); err != nil &&
		database.Interpret(err) != database.ErrNotFound {
		return 0, fmt.Errorf("sending: schedule again: %w", database.Interpret(err))
	}
	if len(rows) == 0 {
		return 0, nil
	}
	return len(rows), recordMessages(ctx, tx, org, events.MessageScheduled, rows, false)
}

// Deferral is an out-of-office reply's return date for its lead.
type Deferral struct {
	Lead  uuid.UUID
	Until time.Time
}

// DeferManyInTx is DeferInTx for many leads in one statement: each
// lead's scheduled messages due before its latest Until in ds wait until
// then (lead_out_of_office), as DeferInTx called once per deferral, in
// any order, leaves them. It returns how many messages it moved.
func (e *Engine) DeferManyInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, ds []Deferral) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	leadIDs, untils := make([]uuid.UUID, len(ds)), make([]string, len(ds))
	for i, d := range ds {
		leadIDs[i], untils[i] = d.Lead, d.Until.Format(time.RFC3339Nano)
	}
	res, err := tx.ExecContext(ctx, `WITH v AS (SELECT lead, max(until) AS until FROM unnest(?::uuid[], ?::timestamptz[]) AS v (lead, until) GROUP BY lead)
		UPDATE messages m SET scheduled_for = v.until, blocked_reason = ?, updated_at = now()
		FROM v WHERE m.org_id = ? AND m.lead_id = v.lead AND m.status = 'scheduled' AND m.scheduled_for < v.until`,
		pgdialect.Array(leadIDs), pgdialect.Array(untils), BlockedLeadOutOfOffice, org)
	if err != nil {
		return 0, fmt.Errorf("sending: defer %d leads: %w", len(ds), database.Interpret(err))
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Bounce is a bounce report's verdict on one of our messages.
type Bounce struct {
	Message    uuid.UUID
	Hard       bool
	Diagnostic string
}

// BounceResult says what BouncesInTx did: the messages that bounced for
// good (hard, or soft too often) with their leads, and the soft ones put
// back on the schedule.
type BounceResult struct {
	Bounced []uuid.UUID
	Leads   []uuid.UUID
	Retried []uuid.UUID
}

// BouncesInTx applies bounce reports the inbox synced. A hard bounce, or
// a soft one that brings the message's soft bounces to softLimit, marks
// the message bounced (message.bounced), its lead bounced, the lead's
// address suppressed and its pending messages cancelled (lead_bounced),
// then runs the deliverability guard for the campaigns and mailboxes
// concerned, as a bounce at SMTP time does. Any other soft bounce puts
// the message back on the schedule retry from now (soft_bounce): it goes
// out again, re-checked like any send. A report about a message already
// bounced or cancelled changes nothing.
func (e *Engine) BouncesInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, bs []Bounce, softLimit int, retry time.Duration) (BounceResult, error) {
	var res BounceResult
	if len(bs) == 0 {
		return res, nil
	}
	ids, hard, diags := make([]uuid.UUID, len(bs)), make([]bool, len(bs)), make([]string, len(bs))
	for i, b := range bs {
		ids[i], hard[i], diags[i] = b.Message, b.Hard, b.Diagnostic
	}
	var rows []struct {
		messageRow
		Retry bool `bun:"retry"`
	}
	// One statement: each message either bounces or goes back on the
	// schedule; soft_bounces counts both.
	if err := tx.NewRaw(`WITH v AS (SELECT DISTINCT ON (id) * FROM unnest(?::uuid[], ?::boolean[], ?::text[]) AS v (id, hard, diag) ORDER BY id, hard DESC)
		UPDATE messages m SET
			soft_bounces = m.soft_bounces + CASE WHEN v.hard THEN 0 ELSE 1 END,
			status = CASE WHEN v.hard OR m.soft_bounces + 1 >= ? THEN 'bounced' ELSE 'scheduled' END,
			bounced_at = CASE WHEN v.hard OR m.soft_bounces + 1 >= ? THEN now() ELSE m.bounced_at END,
			scheduled_for = CASE WHEN v.hard OR m.soft_bounces + 1 >= ? THEN m.scheduled_for ELSE ?::timestamptz END,
			blocked_reason = CASE WHEN v.hard OR m.soft_bounces + 1 >= ? THEN m.blocked_reason ELSE ? END,
			last_error = left(v.diag, 1000), updated_at = now()
		FROM v WHERE m.org_id = ? AND m.id = v.id AND m.status IN ('sent', 'delivered', 'read', 'replied', 'scheduled', 'queued')
		RETURNING m.*, NOT (v.hard OR m.soft_bounces >= ?) AS retry`,
		pgdialect.Array(ids), pgdialect.Array(hard), pgdialect.Array(diags), softLimit, softLimit, softLimit,
		e.opts.Now().Add(retry), softLimit, BlockedSoftBounce, org, softLimit).Scan(ctx, &rows); err != nil && database.Interpret(err) != database.ErrNotFound {
		return res, fmt.Errorf("sending: bounces: %w", database.Interpret(err))
	}
	var bounced []messageRow
	byAccount := map[uuid.UUID][]claimed{}
	seenLead := map[uuid.UUID]bool{}
	for _, r := range rows {
		if r.Retry {
			res.Retried = append(res.Retried, r.ID)
			continue
		}
		res.Bounced = append(res.Bounced, r.ID)
		bounced = append(bounced, r.messageRow)
		if !seenLead[r.LeadID] {
			seenLead[r.LeadID] = true
			res.Leads = append(res.Leads, r.LeadID)
		}
		var acct uuid.UUID
		if r.EmailAccountID != nil {
			acct = *r.EmailAccountID
		}
		byAccount[acct] = append(byAccount[acct], claimed{messageRow: r.messageRow})
	}
	if len(res.Leads) == 0 {
		return res, nil
	}
	if err := e.stopLeads(ctx, tx, org, res.Leads, "bounce", leads.ReasonBounce, "bounced", BlockedLeadBounced); err != nil {
		return res, err
	}
	if err := recordMessages(ctx, tx, org, events.MessageBounced, bounced, true); err != nil {
		return res, err
	}
	for acct, batch := range byAccount {
		if err := e.guard(ctx, tx, org, acct, batch); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ComplaintInTx applies an abuse complaint (an ARF report) about message
// (uuid.Nil when the report did not name one of ours) to lead: the
// message is marked complained (the deliverability guard counts it with
// bounces), the lead is unsubscribed, its address suppressed (complaint)
// and its pending messages cancelled.
func (e *Engine) ComplaintInTx(ctx context.Context, tx bun.IDB, org, message, lead uuid.UUID) error {
	if message != uuid.Nil {
		var rows []messageRow
		if err := tx.NewRaw(`UPDATE messages SET complained_at = coalesce(complained_at, now()), updated_at = now()
			WHERE org_id = ? AND id = ? RETURNING *`, org, message).Scan(ctx, &rows); err != nil && database.Interpret(err) != database.ErrNotFound {
			return fmt.Errorf("sending: complaint: %w", database.Interpret(err))
		}
		for _, r := range rows {
			var acct uuid.UUID
			if r.EmailAccountID != nil {
				acct = *r.EmailAccountID
			}
			if err := e.guard(ctx, tx, org, acct, []claimed{{messageRow: r}}); err != nil {
				return err
			}
		}
	}
	return e.stopLeads(ctx, tx, org, []uuid.UUID{lead}, "complaint", leads.ReasonComplaint, "unsubscribed", BlockedSuppressed)
}

// stopLeads suppresses the addresses of leadIDs (reason), moves them to
// status, and cancels their pending messages with blocked.
func (e *Engine) stopLeads(ctx context.Context, tx bun.IDB, org uuid.UUID, leadIDs []uuid.UUID, reason, why, status, blocked string) error {
	var emails []string
	if err := tx.NewRaw(`SELECT email FROM leads WHERE org_id = ? AND id = ANY(?::uuid[]) AND email IS NOT NULL`,
		org, pgdialect.Array(leadIDs)).Scan(ctx, &emails); err != nil && database.Interpret(err) != database.ErrNotFound {
		return fmt.Errorf("sending: leads' addresses: %w", database.Interpret(err))
	}
	ns := make([]suppressions.New, len(emails))
	for i, addr := range emails {
		ns[i] = suppressions.New{Value: addr, Reason: reason, Source: "inbox"}
	}
	if _, err := suppressions.AddManyInTx(ctx, tx, org, ns); err != nil {
		return fmt.Errorf("sending: suppress: %w", err)
	}
	changes := make([]leads.StatusChange, len(leadIDs))
	for i, id := range leadIDs {
		changes[i] = leads.StatusChange{Lead: id, To: status, Reason: why}
	}
	if _, err := leads.ChangeStatus(ctx, tx, org, changes); err != nil {
		return err
	}
	return cancelPending(ctx, tx, org, leadIDs, blocked)
}

// UnsubscribeInTx unsubscribes lead in the inbox's transaction (a reply
// classified unsubscribe): its address is suppressed (reason, e.g.
// classification), it becomes unsubscribed (lead.status_changed) and its
// pending messages are cancelled (lead_unsubscribed).
func (e *Engine) UnsubscribeInTx(ctx context.Context, tx bun.IDB, org, lead uuid.UUID, reason string) error {
	return e.stopLeads(ctx, tx, org, []uuid.UUID{lead}, reason, leads.ReasonUnsubscribe, "unsubscribed", BlockedLeadUnsubscribed)
}

// UnsubscribeManyInTx is UnsubscribeInTx for many leads at once, set-based
// (one statement per step, whatever the number of leads): their
// addresses suppressed, their status and their pending messages as
// UnsubscribeInTx leaves them. A lead named twice counts once.
func (e *Engine) UnsubscribeManyInTx(ctx context.Context, tx bun.IDB, org uuid.UUID, leadIDs []uuid.UUID, reason string) error {
	if len(leadIDs) == 0 {
		return nil
	}
	uniq := make([]uuid.UUID, 0, len(leadIDs))
	seen := make(map[uuid.UUID]bool, len(leadIDs))
	for _, id := range leadIDs {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	return e.stopLeads(ctx, tx, org, uniq, reason, leads.ReasonUnsubscribe, "unsubscribed", BlockedLeadUnsubscribed)
}
