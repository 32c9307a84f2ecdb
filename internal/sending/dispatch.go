package sending

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
)

// due is a claimed message's address: its organisation and mailbox.
type due struct {
	org, account, id uuid.UUID
}

// Dispatch takes due messages of active campaigns that have no send task
// out (at most ClaimLimit, oldest first), stamps them dispatched (a
// heap-only update: no index covers dispatched_at, and the message stays
// scheduled until its task claims it) and enqueues one send task per
// mailbox and BatchSize messages. A failed enqueue leaves its messages
// stamped; the requeue step of a later Tick enqueues them again. It
// returns how many it took.
func (e *Engine) Dispatch(ctx context.Context) (int, error) {
	found, err := e.scan(ctx, `SELECT org_id, coalesce(email_account_id, '00000000-0000-0000-0000-000000000000'), id FROM maint_dispatch_due_messages($1, $2)`, e.opts.ClaimLimit, e.opts.Now())
	if err != nil {
		return 0, fmt.Errorf("sending: claim due: %w", err)
	}
	return len(found), e.enqueue(ctx, found)
}

// Requeue enqueues again the tasks of due messages dispatched longer than
// RequeueAfter ago and still not claimed: an enqueue that failed, a task
// Redis lost (flushed). The send task's claim makes a duplicate harmless.
func (e *Engine) Requeue(ctx context.Context) (int, error) {
	found, err := e.scan(ctx, `SELECT org_id, coalesce(email_account_id, '00000000-0000-0000-0000-000000000000'), id FROM maint_stale_dispatched_messages($1, $2, $3)`,
		e.opts.RequeueAfter, e.opts.ClaimLimit, e.opts.Now())
	if err != nil {
		return 0, fmt.Errorf("sending: stale dispatched: %w", err)
	}
	if len(found) == 0 {
		return 0, nil
	}
	// Touch them, so the next tick does not enqueue them again at once.
	orgs, ids := make([]uuid.UUID, len(found)), make([]uuid.UUID, len(found))
	for i, f := range found {
		orgs[i], ids[i] = f.org, f.id
	}
	if _, err := e.db.Bun.DB.ExecContext(ctx, `SELECT maint_touch_dispatched_messages($1, $2)`, orgs, ids); err != nil {
		return 0, fmt.Errorf("sending: touch dispatched: %w", err)
	}
	return len(found), e.enqueue(ctx, found)
}

// scan runs a cross-tenant claim or scan. Like every query of the engine
// it goes through bun's database/sql pool, not pgxpool directly: database/sql
// keeps the connections it has opened (as many as the pool holds), so once
// the send tasks have used them all a direct pgxpool query would wait for
// ever, and the dispatcher with it.
func (e *Engine) scan(ctx context.Context, query string, args ...any) ([]due, error) {
	rows, err := e.db.Bun.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.org, &d.account, &d.id); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (e *Engine) enqueue(ctx context.Context, found []due) error {
	if e.enq == nil || len(found) == 0 {
		return nil
	}
	type key struct{ org, account uuid.UUID }
	groups := map[key][]uuid.UUID{}
	var order []key
	for _, d := range found {
		k := key{d.org, d.account}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], d.id)
	}
	var errs []error
	for _, k := range order {
		ids := groups[k]
		for start := 0; start < len(ids); start += e.opts.BatchSize {
			if err := e.enq.EnqueueSend(ctx, k.org, k.account, ids[start:min(start+e.opts.BatchSize, len(ids))]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Reap marks messages left sending longer than ReapAfter failed with
// delivery_uncertain, with message.failed: a worker died between its claim
// and its record, and the provider may have accepted them. They are never
// sent again. It returns how many it reaped.
func (e *Engine) Reap(ctx context.Context) (int, error) {
	rows, err := e.db.Bun.DB.QueryContext(ctx, `SELECT org_id, id FROM maint_stuck_sending_messages($1, $2)`, e.opts.ReapAfter, e.opts.ClaimLimit) // not pgxpool: see scan
	if err != nil {
		return 0, fmt.Errorf("sending: stuck sending: %w", err)
	}
	byOrg := map[uuid.UUID][]uuid.UUID{}
	for rows.Next() {
		var org, id uuid.UUID
		if err := rows.Scan(&org, &id); err != nil {
			rows.Close()
			return 0, err
		}
		byOrg[org] = append(byOrg[org], id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for org, ids := range byOrg {
		err := e.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
			var reaped []messageRow
			if err := tx.NewRaw(`UPDATE messages SET status = 'failed', delivery_uncertain = true, updated_at = now(),
				last_error = 'the worker stopped while sending: the message may have been delivered, so it is not sent again'
				WHERE org_id = ? AND id IN (?) AND status = 'sending' AND claimed_at < now() - make_interval(secs => ?) RETURNING *`,
				org, bun.In(ids), e.opts.ReapAfter.Seconds()).Scan(ctx, &reaped); err != nil && !errors.Is(database.Interpret(err), database.ErrNotFound) {
				return fmt.Errorf("sending: reap: %w", database.Interpret(err))
			}
			n += len(reaped)
			return recordMessages(ctx, tx, org, events.MessageFailed, reaped, true)
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Tick is one round of the dispatcher loop: dispatch, requeue, reap, and
// every reconcileEvery the scheduling of what was approved meanwhile.
func (e *Engine) Tick(ctx context.Context) error {
	_, err1 := e.Dispatch(ctx)
	_, err2 := e.Requeue(ctx)
	_, err3 := e.Reap(ctx)
	var err4, err5 error
	if now := time.Now().UnixNano(); now-e.reconciled.Load() >= int64(reconcileEvery) {
		e.reconciled.Store(now)
		_, err4 = e.ScheduleApproved(ctx)
	}
	if now := time.Now().UnixNano(); now-e.pruned.Load() >= int64(pruneEvery) {
		e.pruned.Store(now)
		_, err5 = e.PruneCounts(ctx)
	}
	return errors.Join(err1, err2, err3, err4, err5)
}

// pruneEvery is how often the dispatcher deletes the caps' counts of past
// periods.
const pruneEvery = time.Hour

// PruneCounts deletes the caps' counts (send_counts) of periods that
// started more than two days ago: no cap reads them any more (a day is
// the organisation's, whatever its time zone). It returns how many it
// deleted.
func (e *Engine) PruneCounts(ctx context.Context) (int, error) {
	var n int
	if err := e.db.Bun.DB.QueryRowContext(ctx, `SELECT maint_prune_send_counts($1)`, e.opts.Now().Add(-48*time.Hour)).Scan(&n); err != nil { // not pgxpool: see scan
		return 0, fmt.Errorf("sending: prune counts: %w", err)
	}
	return n, nil
}

// reconcileEvery is how often the dispatcher looks for approvals made
// while their campaign was running.
const reconcileEvery = 10 * time.Second

// ScheduleApproved schedules, in each active campaign that has any, the
// leads approved (or whose sequences were approved) after it was
// activated: Schedule does nothing for a lead that has its messages. A
// campaign that cannot send (no active mailbox) is logged and skipped. It
// returns how many messages it scheduled.
func (e *Engine) ScheduleApproved(ctx context.Context) (int, error) {
	rows, err := e.db.Bun.QueryContext(ctx, `SELECT org_id, campaign_id FROM maint_campaigns_to_schedule(?)`, 1000)
	if err != nil {
		return 0, fmt.Errorf("sending: campaigns to schedule: %w", err)
	}
	type pair struct{ org, campaign uuid.UUID }
	var found []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.org, &p.campaign); err != nil {
			_ = rows.Close()
			return 0, err
		}
		found = append(found, p)
	}
	_ = rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	total := 0
	for _, p := range found {
		err := e.db.InTenant(ctx, database.Tenant{OrgID: p.org}, func(ctx context.Context, tx bun.IDB) error {
			n, err := e.Schedule(ctx, tx, p.org, p.campaign)
			total += n
			return err
		})
		if err != nil {
			e.opts.Logger.WarnContext(ctx, "sending: approved leads not scheduled", "org_id", p.org, "campaign_id", p.campaign, "err", err)
		}
	}
	return total, nil
}

// Run ticks every interval until ctx ends; errors are logged, not fatal
// (the next tick tries again).
func (e *Engine) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := e.Tick(ctx); err != nil && ctx.Err() == nil {
			e.opts.Logger.ErrorContext(ctx, "sending dispatcher", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
