package sending

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/notifications"
)

// The deliverability guard's defaults: a rolling hard-bounce rate over the
// last guardWindow sends (sent or bounced) of a campaign and of a
// mailbox; above BounceThreshold (default 5%), once at least
// guardMinSample sends are known, the campaign pauses itself, the mailbox
// is deactivated, and the owners and admins are told why.
const (
	guardWindow    = 100
	guardMinSample = 20
)

// bounceRate is the share of bounces and complaints (ARF reports the
// inbox synced) among the last guardWindow sends that where selects (a
// condition on m), and how many sends it counted.
func bounceRate(ctx context.Context, tx bun.IDB, org uuid.UUID, where string, arg uuid.UUID) (float64, int, error) {
	var r struct {
		Bounced int `bun:"bounced"`
		Total   int `bun:"total"`
	}
	if err := tx.NewRaw(`SELECT count(*) FILTER (WHERE status = 'bounced' OR complained_at IS NOT NULL) AS bounced, count(*) AS total FROM (
			SELECT status, complained_at FROM messages m WHERE m.org_id = ? AND `+where+` AND m.status IN ('sent', 'delivered', 'read', 'replied', 'bounced')
			ORDER BY m.id DESC LIMIT ?) last`, org, arg, guardWindow).Scan(ctx, &r); err != nil {
		return 0, 0, fmt.Errorf("sending: bounce rate: %w", database.Interpret(err))
	}
	if r.Total == 0 {
		return 0, 0, nil
	}
	return float64(r.Bounced) / float64(r.Total), r.Total, nil
}

// guard runs after a batch with bounces: it pauses each campaign and
// deactivates the mailbox whose rolling bounce rate passed the threshold.
func (e *Engine) guard(ctx context.Context, tx bun.IDB, org, accountID uuid.UUID, bounced []claimed) error {
	if len(bounced) == 0 || e.opts.BounceThreshold < 0 {
		return nil
	}
	threshold := e.opts.BounceThreshold
	if threshold == 0 {
		threshold = 0.05
	}
	seen := map[uuid.UUID]bool{}
	for _, c := range bounced {
		if c.CampaignID == nil || seen[*c.CampaignID] {
			continue
		}
		seen[*c.CampaignID] = true
		rate, n, err := bounceRate(ctx, tx, org, "m.campaign_id = ?", *c.CampaignID)
		if err != nil {
			return err
		}
		if n < guardMinSample || rate <= threshold {
			continue
		}
		reason := fmt.Sprintf("paused by the deliverability guard: %.0f%% of the last %d sends bounced (the limit is %.0f%%)", rate*100, n, threshold*100)
		paused, err := campaigns.PauseFor(ctx, tx, org, *c.CampaignID, reason)
		if err != nil {
			return err
		}
		if paused {
			if _, err := notifications.NotifyAdmins(ctx, tx, org, notifications.New{Type: notifications.TypeBounce,
				Title: "A campaign was paused: too many bounces", Message: reason, CampaignID: *c.CampaignID}); err != nil {
				return err
			}
		}
	}
	if accountID == uuid.Nil {
		return nil
	}
	rate, n, err := bounceRate(ctx, tx, org, "m.email_account_id = ?", accountID)
	if err != nil || n < guardMinSample || rate <= threshold {
		return err
	}
	reason := fmt.Sprintf("deactivated by the deliverability guard: %.0f%% of the last %d sends from this mailbox bounced (the limit is %.0f%%)", rate*100, n, threshold*100)
	// Deactivated as a person would (PATCH is_active false): disabled,
	// with the reason, and email_account.updated.
	res, err := tx.ExecContext(ctx, `UPDATE email_accounts SET is_active = false, connection_status = 'disabled', last_error = ?,
		error_source = NULL, updated_at = now()
		WHERE org_id = ? AND id = ? AND is_active`, reason, org, accountID)
	if err != nil {
		return fmt.Errorf("sending: deactivate mailbox: %w", database.Interpret(err))
	}
	if k, _ := res.RowsAffected(); k == 1 {
		if e.opts.Accounts != nil {
			if err := e.opts.Accounts.RecordUpdated(ctx, tx, org, accountID); err != nil {
				return err
			}
		}
		if _, err := notifications.NotifyAdmins(ctx, tx, org, notifications.New{Type: notifications.TypeBounce,
			Title: "A mailbox was deactivated: too many bounces", Message: reason}); err != nil {
			return err
		}
	}
	return nil
}
