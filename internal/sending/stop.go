package sending

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/suppressions"
)

// Unsubscribe stops lead of org for good, in one transaction: the lead is
// unsubscribed (lead.unsubscribed), its address goes on the organisation's
// suppression list (so no campaign writes to it again, nor an import
// brings it back), and its scheduled and queued messages are cancelled. A
// message already being sent may still leave; nothing after it will.
// Unsubscribing twice changes nothing. It reports whether the lead exists.
func (e *Engine) Unsubscribe(ctx context.Context, org, lead uuid.UUID, source string) (bool, error) {
	found := false
	err := e.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		exists, err := tx.NewSelect().Table("leads").Where("org_id = ? AND id = ?", org, lead).Exists(ctx)
		if err != nil || !exists {
			return database.Interpret(err)
		}
		found = true
		changed, email, err := leads.MarkUnsubscribed(ctx, tx, org, lead)
		if err != nil || !changed {
			return err
		}
		if email != nil {
			if _, err := suppressions.AddInTx(ctx, tx, org, suppressions.New{Value: *email, Reason: "unsubscribe", Source: source}); err != nil {
				return fmt.Errorf("sending: suppress: %w", err)
			}
		}
		return cancelPending(ctx, tx, org, []uuid.UUID{lead}, BlockedLeadUnsubscribed)
	})
	return found, err
}

// Unsubscribed says whether lead of org has unsubscribed (for the
// confirmation page).
func (e *Engine) Unsubscribed(ctx context.Context, org, lead uuid.UUID) (exists, unsubscribed bool, orgName string, err error) {
	err = e.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		var r []struct {
			Unsub bool   `bun:"unsub"`
			Name  string `bun:"name"`
		}
		if err := tx.NewRaw(`SELECT l.unsubscribed_at IS NOT NULL AS unsub, o.name FROM leads l JOIN organizations o ON o.id = l.org_id
			WHERE l.org_id = ? AND l.id = ?`, org, lead).Scan(ctx, &r); err != nil {
			return database.Interpret(err)
		}
		if len(r) == 1 {
			exists, unsubscribed, orgName = true, r[0].Unsub, r[0].Name
		}
		return nil
	})
	return exists, unsubscribed, orgName, err
}

// LeadReplied records a reply from lead of org: the lead is marked replied,
// and when its campaign stops on reply (stop_on_reply, the default) its
// scheduled and queued messages are cancelled (lead_replied). The inbox
// calls it for every matched reply; until the inbox lands, the sandbox's
// injected replies do.
func (e *Engine) LeadReplied(ctx context.Context, org, lead uuid.UUID) error {
	return e.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		if _, err := leads.MarkReplied(ctx, tx, org, lead); err != nil {
			return err
		}
		var stop bool
		if err := tx.NewRaw(`SELECT coalesce((c.settings->>'stop_on_reply')::boolean, true) FROM leads l
			LEFT JOIN campaigns c ON c.org_id = l.org_id AND c.id = l.campaign_id WHERE l.org_id = ? AND l.id = ?`, org, lead).
			Scan(ctx, &stop); err != nil {
			return fmt.Errorf("sending: stop on reply of %s: %w", lead, database.Interpret(err))
		}
		if !stop {
			return nil
		}
		return cancelPending(ctx, tx, org, []uuid.UUID{lead}, BlockedLeadReplied)
	})
}

// ReplyFrom records a reply that arrived for org: it finds the lead by the
// reply's In-Reply-To (one of our Message-IDs, angle brackets or not) or,
// failing that, by the sender's address among the organisation's leads,
// and calls LeadReplied. It returns the lead (uuid.Nil when none
// matched). Until the inbox syncs mailboxes, the sandbox mailbox's
// injected replies come through here.
func (e *Engine) ReplyFrom(ctx context.Context, org uuid.UUID, from, inReplyTo string) (uuid.UUID, error) {
	var lead []uuid.UUID
	err := e.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		if id := strings.Trim(strings.TrimSpace(inReplyTo), "<>"); id != "" {
			if err := tx.NewRaw(`SELECT lead_id FROM messages WHERE org_id = ? AND message_id = ? LIMIT 1`, org, id).Scan(ctx, &lead); err != nil &&
				!errors.Is(database.Interpret(err), database.ErrNotFound) {
				return fmt.Errorf("sending: reply by message id: %w", database.Interpret(err))
			}
		}
		if len(lead) == 0 && from != "" {
			if err := tx.NewRaw(`SELECT id FROM leads WHERE org_id = ? AND lower(email) = lower(?) ORDER BY last_contacted_at DESC NULLS LAST LIMIT 1`,
				org, strings.TrimSpace(from)).Scan(ctx, &lead); err != nil && !errors.Is(database.Interpret(err), database.ErrNotFound) {
				return fmt.Errorf("sending: reply by address: %w", database.Interpret(err))
			}
		}
		return nil
	})
	if err != nil || len(lead) == 0 {
		return uuid.Nil, err
	}
	return lead[0], e.LeadReplied(ctx, org, lead[0])
}
