package leads

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
)

// Why a lead's status moved (the reason of lead.status_changed).
const (
	ReasonReply          = "reply"
	ReasonClassification = "classification"
	ReasonBounce         = "bounce"
	ReasonComplaint      = "complaint"
	ReasonUnsubscribe    = "unsubscribe"
)

// StatusChange asks for one lead's status to move to To, for Reason.
type StatusChange struct {
	Lead   uuid.UUID
	To     string
	Reason string
}

// statusChangeData is lead.status_changed's data (the contract's
// LeadStatusChange).
type statusChangeData struct {
	LeadID     uuid.UUID  `json:"lead_id"`
	CampaignID *uuid.UUID `json:"campaign_id"`
	From       string     `json:"from"`
	To         string     `json:"to"`
	Reason     string     `json:"reason"`
}

// Changed is a lead whose status moved.
type Changed struct {
	Lead       uuid.UUID
	CampaignID *uuid.UUID
	From, To   string
	Reason     string
}

// statusMoves is which statuses a lead may leave for each target: a
// reply's evidence never takes a lead back from unsubscribed, bounced or
// converted, and a class (interested, not_interested) may be corrected
// by a later one (the user reclassifying) but does not undo an
// unsubscribe. An unsubscribe always wins. Back to contacted is only from
// replied: the "reply" was an out-of-office notice after all (its
// replied_at goes too).
const statusMoves = `CASE v.to_status
	WHEN 'replied' THEN o.status IN ('new', 'sequenced', 'contacted')
	WHEN 'interested' THEN o.status IN ('new', 'sequenced', 'contacted', 'replied', 'not_interested')
	WHEN 'not_interested' THEN o.status IN ('new', 'sequenced', 'contacted', 'replied', 'interested')
	WHEN 'bounced' THEN o.status NOT IN ('unsubscribed', 'converted', 'bounced')
	WHEN 'unsubscribed' THEN o.status <> 'unsubscribed'
	WHEN 'contacted' THEN o.status = 'replied'
	ELSE false END`

// statusRow is a lead ChangeStatus touched: as it is now, the status it
// had, and whether the status moved.
type statusRow struct {
	leadRow
	FromStatus string `bun:"from_status"`
	Moved      bool   `bun:"moved"`
	Reason     string `bun:"reason"`
}

// ChangeStatus moves leads of org in tx as changes ask, where the move is
// allowed (statusMoves): replied_at is set by any reply evidence (replied,
// interested, not_interested) and unsubscribed_at by an unsubscribe, even
// when the status itself stays. Each lead that moved gets
// lead.status_changed (from, to, reason) and lead.updated. A lead named
// twice takes its last change.
func ChangeStatus(ctx context.Context, tx bun.IDB, org uuid.UUID, changes []StatusChange) ([]Changed, error) {
	if len(changes) == 0 {
		return nil, nil
	}
	last := map[uuid.UUID]StatusChange{}
	for _, c := range changes {
		if !ValidStatus(c.To) {
			return nil, fmt.Errorf("leads: status %q is not a lead status", c.To)
		}
		last[c.Lead] = c
	}
	ids, tos, reasons := make([]uuid.UUID, 0, len(last)), make([]string, 0, len(last)), make([]string, 0, len(last))
	for _, c := range last {
		ids, tos, reasons = append(ids, c.Lead), append(tos, c.To), append(reasons, c.Reason)
	}
	var rows []statusRow
	// Rows are locked in id order (no deadlock between two batches).
	err := tx.NewRaw(`WITH v AS (SELECT * FROM unnest(?::uuid[], ?::text[], ?::text[]) AS v (id, to_status, reason)),
		o AS (SELECT l.id, l.status FROM leads l JOIN v ON v.id = l.id WHERE l.org_id = ? ORDER BY l.id FOR NO KEY UPDATE OF l)
		UPDATE leads l SET
			status = CASE WHEN `+statusMoves+` THEN v.to_status ELSE l.status END,
			replied_at = CASE WHEN v.to_status IN ('replied', 'interested', 'not_interested') THEN coalesce(l.replied_at, now())
				WHEN v.to_status = 'contacted' AND o.status = 'replied' THEN NULL ELSE l.replied_at END,
			unsubscribed_at = CASE WHEN v.to_status = 'unsubscribed' THEN coalesce(l.unsubscribed_at, now()) ELSE l.unsubscribed_at END,
			updated_at = now()
		FROM v, o
		WHERE l.org_id = ? AND l.id = v.id AND o.id = l.id
		  AND ((`+statusMoves+`) OR (v.to_status IN ('replied', 'interested', 'not_interested') AND l.replied_at IS NULL)
		       OR (v.to_status = 'unsubscribed' AND l.unsubscribed_at IS NULL))
		RETURNING `+returning("l.")+`, o.status AS from_status, (`+statusMoves+`) AS moved, v.reason`,
		pgdialect.Array(ids), pgdialect.Array(tos), pgdialect.Array(reasons), org, org).Scan(ctx, &rows)
	if err = database.Interpret(err); err != nil && err != database.ErrNotFound {
		return nil, fmt.Errorf("leads: change status: %w", err)
	}
	slices.SortFunc(rows, func(a, b statusRow) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	var out []Changed
	var evs []events.New
	for _, r := range rows {
		evs = append(evs, events.New{Type: events.LeadUpdated, ObjectID: r.ID, Data: r.view().Resource()})
		if !r.Moved {
			continue
		}
		c := Changed{Lead: r.ID, CampaignID: r.CampaignID, From: r.FromStatus, To: r.Status, Reason: r.Reason}
		out = append(out, c)
		evs = append(evs, events.New{Type: events.LeadStatusChanged, ObjectID: r.ID,
			Data: statusChangeData{LeadID: r.ID, CampaignID: r.CampaignID, From: c.From, To: c.To, Reason: c.Reason}})
	}
	if len(evs) > 0 {
		if _, err := events.RecordBatch(ctx, tx, org, evs); err != nil {
			return nil, fmt.Errorf("leads: %w", err)
		}
	}
	return out, nil
}
