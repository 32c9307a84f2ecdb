package leads

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
)

// Bulk actions.
const (
	ActionApprove        = "approve"
	ActionDisapprove     = "disapprove"
	ActionSetStatus      = "set_status"
	ActionMoveToCampaign = "move_to_campaign"
	ActionDelete         = "delete"
)

// MaxBulkIDs bounds a selection by ids.
const MaxBulkIDs = 1000

// Bulk is one action on a selection: IDs, or every lead Filter selects
// (exactly one of the two).
type Bulk struct {
	Action string
	IDs    []uuid.UUID
	Filter *Filter
	// Status is set_status's new status.
	Status string
	// CampaignID is move_to_campaign's target; nil takes the leads out of
	// any campaign.
	CampaignID *uuid.UUID
}

// BulkResult says what an action did: Matched leads were selected,
// Changed were changed (or deleted), Skipped were left as they were
// because the target campaign already holds their address.
type BulkResult struct {
	Matched int
	Changed int
	Skipped int
}

// Bulk runs one action in one statement and reports the counts.
func (s *Service) Bulk(ctx context.Context, a access.Actor, b Bulk) (BulkResult, error) {
	var f fault.Fields
	switch {
	case (len(b.IDs) == 0) == (b.Filter == nil):
		f.Add("/ids", "required", "give either ids or a filter")
	case len(b.IDs) > MaxBulkIDs:
		f.Add("/ids", "too_many", fmt.Sprintf("at most %d ids", MaxBulkIDs))
	}
	switch b.Action {
	case ActionApprove, ActionDisapprove, ActionDelete, ActionMoveToCampaign:
	case ActionSetStatus:
		if !ValidStatus(b.Status) {
			f.Add("/status", "invalid_status", "must be one of "+strings.Join(Statuses, ", "))
		}
	default:
		f.Add("/action", "invalid_action", "must be approve, disapprove, set_status, move_to_campaign or delete")
	}
	if err := f.Err(); err != nil {
		return BulkResult{}, err
	}
	if b.Filter != nil {
		if err := b.Filter.Validate("/filter"); err != nil {
			return BulkResult{}, err
		}
	}
	var res BulkResult
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if b.Action == ActionMoveToCampaign {
			if err := checkCampaign(ctx, tx, a.OrgID, b.CampaignID); err != nil {
				return err
			}
		}
		// The selection, locked: the counts and the change see the same rows.
		sel := tx.NewSelect().Model((*leadRow)(nil)).Column("id").Where("org_id = ?", a.OrgID)
		if b.Filter != nil {
			sel = b.Filter.where(sel, nil)
		} else {
			sel = sel.Where("id IN (?)", bun.In(b.IDs))
		}
		var ids []uuid.UUID
		if err := sel.For("UPDATE").Scan(ctx, &ids); err != nil {
			return fmt.Errorf("leads: bulk %s: select: %w", b.Action, database.Interpret(err))
		}
		res.Matched = len(ids)
		if len(ids) == 0 {
			return nil
		}
		var changed []leadRow
		var err error
		evt := events.LeadUpdated
		switch b.Action {
		case ActionDelete:
			evt = events.LeadDeleted
			err = tx.NewDelete().Model(&changed).Where("org_id = ? AND id IN (?)", a.OrgID, bun.In(ids)).Returning(returning("")).Scan(ctx)
		case ActionApprove:
			err = tx.NewUpdate().Model(&changed).Set("is_approved = true, approved_at = ?, approved_by = ?", time.Now(), userOf(a)).
				Where("org_id = ? AND id IN (?) AND NOT is_approved", a.OrgID, bun.In(ids)).Returning(returning("")).Scan(ctx)
		case ActionDisapprove:
			err = tx.NewUpdate().Model(&changed).Set("is_approved = false, approved_at = NULL, approved_by = NULL").
				Where("org_id = ? AND id IN (?) AND is_approved", a.OrgID, bun.In(ids)).Returning(returning("")).Scan(ctx)
		case ActionSetStatus:
			err = tx.NewUpdate().Model(&changed).Set("status = ?", b.Status).
				Where("org_id = ? AND id IN (?) AND status <> ?", a.OrgID, bun.In(ids), b.Status).Returning(returning("")).Scan(ctx)
		case ActionMoveToCampaign:
			changed, err = s.move(ctx, tx, a.OrgID, ids, b.CampaignID, &res)
		}
		if err != nil {
			return fmt.Errorf("leads: bulk %s: %w", b.Action, database.Interpret(err))
		}
		res.Changed = len(changed)
		return record(ctx, tx, a.OrgID, evt, changed)
	})
	return res, err
}

// moveSQL is move's UPDATE, returning the moved leads: ?0 the target campaign (NULL: none), ?1 the
// organisation, ?2 the selected ids. Its look-ups by identity compare
// plain columns (o.email = l.email, stored lower-case), so under
// row-level security they are index scans on leads_org_campaign_email_key
// and leads_org_phone_idx, not a scan of the table per lead.
var moveSQL = `
	UPDATE leads l SET campaign_id = ?0
	 WHERE l.org_id = ?1 AND l.id IN (?2) AND l.campaign_id IS DISTINCT FROM ?0
	   AND CASE
	     WHEN l.email IS NOT NULL THEN
	        NOT EXISTS (SELECT 1 FROM leads o WHERE o.org_id = l.org_id AND o.campaign_id IS NOT DISTINCT FROM ?0
	                       AND o.email = l.email)
	    AND NOT EXISTS (SELECT 1 FROM leads o WHERE o.org_id = l.org_id AND o.id IN (?2) AND o.id < l.id
	                       AND o.campaign_id IS DISTINCT FROM ?0 AND o.email = l.email)
	     WHEN l.phone IS NOT NULL THEN
	        NOT EXISTS (SELECT 1 FROM leads o WHERE o.org_id = l.org_id AND o.campaign_id IS NOT DISTINCT FROM ?0
	                       AND o.email IS NULL AND o.phone = l.phone)
	    AND NOT EXISTS (SELECT 1 FROM leads o WHERE o.org_id = l.org_id AND o.id IN (?2) AND o.id < l.id
	                       AND o.campaign_id IS DISTINCT FROM ?0 AND o.email IS NULL AND o.phone = l.phone)
	     ELSE true END
	RETURNING ` + returning("l.")

// move puts leads into campaign (nil: none). A lead whose identity (its
// address, else its phone number) the target already holds, or that
// another selected lead with the same identity moves there first (the
// oldest wins), stays where it is and is counted as skipped.
func (s *Service) move(ctx context.Context, tx bun.IDB, org uuid.UUID, ids []uuid.UUID, campaign *uuid.UUID, res *BulkResult) ([]leadRow, error) {
	var moved []leadRow
	if err := tx.NewRaw(moveSQL, campaign, org, bun.In(ids)).Scan(ctx, &moved); err != nil {
		return nil, err
	}
	already, err := tx.NewSelect().Model((*leadRow)(nil)).Where("org_id = ? AND id IN (?) AND campaign_id IS NOT DISTINCT FROM ?", org, bun.In(ids), campaign).Count(ctx)
	if err != nil {
		return nil, err
	}
	res.Skipped = len(ids) - int(already)
	return moved, nil
}
