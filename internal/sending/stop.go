package sending

import (
	"context"
	"fmt"

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

// LeadReplied records a reply from lead of org in a transaction of its
// own: the lead is marked replied (lead.status_changed) and, when its
// campaign stops on reply (stop_on_reply, the default), its scheduled and
// queued messages are cancelled (lead_replied). The inbox does the same
// for every reply it ingests, in its own transaction (RepliedInTx).
func (e *Engine) LeadReplied(ctx context.Context, org, lead uuid.UUID) error {
	return e.db.InTenant(ctx, database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
		if _, err := leads.ChangeStatus(ctx, tx, org, []leads.StatusChange{{Lead: lead, To: "replied", Reason: leads.ReasonReply}}); err != nil {
			return err
		}
		_, err := e.RepliedInTx(ctx, tx, org, []uuid.UUID{lead}, nil)
		return err
	})
}
