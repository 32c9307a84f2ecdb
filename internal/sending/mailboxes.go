package sending

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
)

// MaxCampaignMailboxes is how many mailboxes one campaign may rotate over.
const MaxCampaignMailboxes = 50

// Mailbox is an email account a campaign sends from (inbox rotation:
// campaign_email_accounts).
type Mailbox struct {
	ID          uuid.UUID `bun:"id,type:uuid"`
	Address     string    `bun:"email_address"`
	DisplayName *string   `bun:"display_name"`
	IsActive    bool      `bun:"is_active"`
	AddedAt     time.Time `bun:"added_at"`
}

// campaignStatus reads the status of campaign id of org in tx, locking
// the row when lock is set (404 when there is none).
func campaignStatus(ctx context.Context, tx bun.IDB, org, id uuid.UUID, lock bool) (string, error) {
	var st []string
	q := `SELECT status FROM campaigns WHERE org_id = ? AND id = ?`
	if lock {
		q += ` FOR UPDATE`
	}
	if err := tx.NewRaw(q, org, id).Scan(ctx, &st); err != nil && !errors.Is(database.Interpret(err), database.ErrNotFound) {
		return "", fmt.Errorf("sending: campaign %s: %w", id, database.Interpret(err))
	}
	if len(st) == 0 {
		return "", fault.NotFound("campaign")
	}
	return st[0], nil
}

func campaignMailboxes(ctx context.Context, tx bun.IDB, org, campaignID uuid.UUID) ([]Mailbox, error) {
	out := []Mailbox{}
	if err := tx.NewRaw(`SELECT a.id, a.email_address, a.display_name, a.is_active, ce.created_at AS added_at
		FROM campaign_email_accounts ce JOIN email_accounts a ON a.org_id = ce.org_id AND a.id = ce.email_account_id
		WHERE ce.org_id = ? AND ce.campaign_id = ? ORDER BY ce.created_at, a.id`, org, campaignID).Scan(ctx, &out); err != nil &&
		!errors.Is(database.Interpret(err), database.ErrNotFound) {
		return nil, fmt.Errorf("sending: mailboxes of campaign %s: %w", campaignID, database.Interpret(err))
	}
	return out, nil
}

// CampaignMailboxes lists the mailboxes campaign campaignID sends from, in
// the order they were added.
func (e *Engine) CampaignMailboxes(ctx context.Context, a access.Actor, campaignID uuid.UUID) ([]Mailbox, error) {
	var out []Mailbox
	err := e.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if _, err := campaignStatus(ctx, tx, a.OrgID, campaignID, false); err != nil {
			return err
		}
		var err error
		out, err = campaignMailboxes(ctx, tx, a.OrgID, campaignID)
		return err
	})
	return out, err
}

// SetCampaignMailboxes replaces the mailboxes campaign campaignID sends
// from with ids (1 to MaxCampaignMailboxes email accounts of the
// organisation; 422 naming /email_account_ids/<i> otherwise). Mailboxes
// kept keep their place in the rotation. An archived campaign is refused
// (409 campaign_archived); in every other status the new set applies to
// first steps scheduled from now on, while messages already scheduled and
// the follow-ups of threads already started keep their mailbox.
//
// It runs in the caller's request transaction when there is one, so
// creating or changing a campaign with email_account_ids is one change.
func (e *Engine) SetCampaignMailboxes(ctx context.Context, a access.Actor, campaignID uuid.UUID, ids []uuid.UUID) ([]Mailbox, error) {
	var out []Mailbox
	err := e.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		status, err := campaignStatus(ctx, tx, a.OrgID, campaignID, true)
		if err != nil {
			return err
		}
		if status == "archived" {
			return fault.Conflict("campaign_archived", "an archived campaign cannot change")
		}
		if err := validateMailboxes(ctx, tx, a.OrgID, ids); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM campaign_email_accounts WHERE org_id = ? AND campaign_id = ? AND NOT (email_account_id IN (?))`,
			a.OrgID, campaignID, bun.In(ids)); err != nil {
			return fmt.Errorf("sending: drop mailboxes of %s: %w", campaignID, database.Interpret(err))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO campaign_email_accounts (org_id, campaign_id, email_account_id)
			SELECT ?, ?, unnest(?::uuid[]) ON CONFLICT DO NOTHING`, a.OrgID, campaignID, pgdialect.Array(ids)); err != nil {
			return fmt.Errorf("sending: add mailboxes to %s: %w", campaignID, database.Interpret(err))
		}
		out, err = campaignMailboxes(ctx, tx, a.OrgID, campaignID)
		return err
	})
	return out, err
}

// validateMailboxes checks ids: 1 to MaxCampaignMailboxes, none repeated,
// each an email account of org.
func validateMailboxes(ctx context.Context, tx bun.IDB, org uuid.UUID, ids []uuid.UUID) error {
	var f fault.Fields
	switch {
	case len(ids) == 0:
		f.Add("/email_account_ids", "required", "name at least one email account to send from")
	case len(ids) > MaxCampaignMailboxes:
		f.Add("/email_account_ids", "too_many", fmt.Sprintf("at most %d email accounts", MaxCampaignMailboxes))
	}
	if err := f.Err(); err != nil {
		return err
	}
	var found []uuid.UUID
	if err := tx.NewRaw(`SELECT id FROM email_accounts WHERE org_id = ? AND id IN (?)`, org, bun.In(ids)).Scan(ctx, &found); err != nil &&
		!errors.Is(database.Interpret(err), database.ErrNotFound) {
		return fmt.Errorf("sending: check email accounts: %w", database.Interpret(err))
	}
	exists := make(map[uuid.UUID]bool, len(found))
	for _, id := range found {
		exists[id] = true
	}
	seen := make(map[uuid.UUID]bool, len(ids))
	for i, id := range ids {
		field := fmt.Sprintf("/email_account_ids/%d", i)
		switch {
		case seen[id]:
			f.Add(field, "duplicate", "this email account is listed twice")
		case !exists[id]:
			f.Add(field, "not_found", "no such email account in this organisation")
		}
		seen[id] = true
	}
	return f.Err()
}
