package sequences

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/notifications"
)

// MaxSelection caps the sequence ids of one approve or reject.
const MaxSelection = 1000

// Selection names sequences of a campaign: IDs, or All of those awaiting
// approval.
type Selection struct {
	IDs []uuid.UUID
	All bool
}

// BulkResult is what an approve or reject changed and what it left.
// Blocked are the sequences an approval left because the content lint
// found errors in them.
type BulkResult struct {
	Changed int
	Skipped int
	Blocked []Blocked
}

func (sel Selection) check() error {
	switch {
	case sel.All && len(sel.IDs) > 0:
		return fault.Invalid(fault.FieldError{Field: "all", Code: "conflict", Message: "send sequence_ids or all, not both"})
	case !sel.All && len(sel.IDs) == 0:
		return fault.Invalid(fault.FieldError{Field: "sequence_ids", Code: "required", Message: "send sequence_ids or all: true"})
	case len(sel.IDs) > MaxSelection:
		return fault.Invalid(fault.FieldError{Field: "sequence_ids", Code: "too_many", Message: fmt.Sprintf("at most %d", MaxSelection)})
	}
	return nil
}

// selected locks and returns the campaign's sequences sel names, in id
// order (a fixed lock order: two bulk calls cannot deadlock).
func selected(ctx context.Context, tx bun.IDB, org, campaignID uuid.UUID, sel Selection) ([]sequenceRow, error) {
	var rows []sequenceRow
	q := tx.NewSelect().Model(&rows).Where("org_id = ? AND campaign_id = ?", org, campaignID).Order("id").For("UPDATE")
	if sel.All {
		q = q.Where("NOT is_approved")
	} else {
		q = q.Where("id = ANY(?)", pgdialect.Array(sel.IDs))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("sequences: select in campaign %s: %w", campaignID, database.Interpret(err))
	}
	return rows, nil
}

// Approve approves the selected sequences of the campaign: approved_by is
// the user (nil for an API key), approved_at now. Those already approved
// are skipped. Ids that are not the campaign's are not found (404), so a
// typo is not taken for success. Each sequence first passes the content
// lint (package sequencelint) for its lead: one with an error-level
// finding stays unapproved and is listed in Blocked with its findings, so
// a bulk approval approves what is fit and says what is not.
func (s *Service) Approve(ctx context.Context, a access.Actor, campaignID uuid.UUID, sel Selection) (BulkResult, error) {
	if err := sel.check(); err != nil {
		return BulkResult{}, err
	}
	var out BulkResult
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if err := campaignExists(ctx, tx, a.OrgID, campaignID); err != nil {
			return err
		}
		rows, err := selected(ctx, tx, a.OrgID, campaignID, sel)
		if err != nil {
			return err
		}
		if !sel.All && len(rows) != len(unique(sel.IDs)) {
			return fault.NotFound("sequence")
		}
		now := time.Now().UTC()
		var by *uuid.UUID
		if a.UserID != uuid.Nil {
			by = &a.UserID
		}
		lint, err := newLinter(ctx, tx, a.OrgID, campaignID, rows)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.IsApproved {
				out.Skipped++
				continue
			}
			if rep := lint.lint(r); rep.Blocking() {
				out.Blocked = append(out.Blocked, Blocked{SequenceID: r.ID, Findings: rep.Findings})
				continue
			}
			r.IsApproved, r.ApprovedAt, r.ApprovedBy = true, &now, by
			if _, err := tx.NewUpdate().Model(&r).Column("is_approved", "approved_at", "approved_by").
				WherePK().Returning("*").Exec(ctx); err != nil {
				return fmt.Errorf("sequences: approve %s: %w", r.ID, database.Interpret(err))
			}
			if err := record(ctx, tx, a.OrgID, events.SequenceApproved, r.view()); err != nil {
				return err
			}
			out.Changed++
		}
		if out.Changed == 0 {
			return nil
		}
		_, err = refreshApproval(ctx, tx, a.OrgID, campaignID)
		return err
	})
	return out, err
}

// Reject deletes the selected sequences of the campaign so that the next
// generation run writes their leads new ones (Start takes every approved
// lead without a sequence); sequence.rejected carries each as it was. A
// sequence that has started sending is skipped: its sent steps are
// history. Rejecting is deleting, not marking, because a "rejected" row
// would block regeneration through the one-sequence-per-lead key.
func (s *Service) Reject(ctx context.Context, a access.Actor, campaignID uuid.UUID, sel Selection) (BulkResult, error) {
	if err := sel.check(); err != nil {
		return BulkResult{}, err
	}
	var out BulkResult
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if err := campaignExists(ctx, tx, a.OrgID, campaignID); err != nil {
			return err
		}
		rows, err := selected(ctx, tx, a.OrgID, campaignID, sel)
		if err != nil {
			return err
		}
		if !sel.All && len(rows) != len(unique(sel.IDs)) {
			return fault.NotFound("sequence")
		}
		if err := setBegun(ctx, tx, a.OrgID, rows); err != nil {
			return err
		}
		for _, r := range rows {
			if r.begun > 0 { // sending or sent: it stays
				out.Skipped++
				continue
			}
			if _, err := tx.NewDelete().Model(&r).WherePK().Exec(ctx); err != nil {
				return fmt.Errorf("sequences: reject %s: %w", r.ID, database.Interpret(err))
			}
			if err := record(ctx, tx, a.OrgID, events.SequenceRejected, r.view()); err != nil {
				return err
			}
			out.Changed++
		}
		if out.Changed == 0 {
			return nil
		}
		_, err = refreshApproval(ctx, tx, a.OrgID, campaignID)
		return err
	})
	return out, err
}

// Waiting counts what of a campaign awaits a person's approval.
type Waiting struct {
	CampaignID uuid.UUID
	Leads      int
	Sequences  int
}

// Resource is w as the API returns it (openapi.yaml's ApprovalNeeded).
func (w Waiting) Resource() api.ApprovalNeeded {
	return api.ApprovalNeeded{CampaignID: w.CampaignID, LeadsWaiting: w.Leads, SequencesWaiting: w.Sequences}
}

// refreshApproval counts, in tx, the campaign's leads and sequences
// awaiting approval and brings the owners' and admins' approval_needed
// notification in line: refreshed while something waits, withdrawn when
// nothing does.
func refreshApproval(ctx context.Context, tx bun.IDB, org, campaignID uuid.UUID) (Waiting, error) {
	w := Waiting{CampaignID: campaignID}
	err := tx.NewRaw(`SELECT
		(SELECT count(*) FROM leads WHERE org_id = ?0 AND campaign_id = ?1 AND NOT is_approved),
		(SELECT count(*) FROM sequences WHERE org_id = ?0 AND campaign_id = ?1 AND NOT is_approved)`, org, campaignID).Scan(ctx, &w.Leads, &w.Sequences)
	if err != nil {
		return w, fmt.Errorf("sequences: count awaiting approval: %w", database.Interpret(err))
	}
	if _, err := notifications.ApprovalNeeded(ctx, tx, org, campaignID, w.Leads, w.Sequences); err != nil {
		return w, fmt.Errorf("sequences: %w", err)
	}
	return w, nil
}

func unique(ids []uuid.UUID) map[uuid.UUID]bool {
	m := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
