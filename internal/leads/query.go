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
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// SearchSQL is the expression leads_search_trgm_idx indexes (migration
// 20261128200001); a search is `SearchSQL LIKE '%term%'`, run by the SQL
// function leads_search (migration 20261128500101), which repeats it.
const SearchSQL = `lower(coalesce(full_name, '') || ' ' || coalesce(email, '') || ' ' || coalesce(company, ''))`

// Filter narrows a list, a bulk action or an export. Zero values filter
// nothing.
type Filter struct {
	CampaignID *uuid.UUID
	Status     string
	Approved   *bool
	// Country is an ISO-2 code, compared upper-case.
	Country string
	// CreatedFrom (inclusive) and CreatedTo (exclusive) bound created_at.
	CreatedFrom *time.Time
	CreatedTo   *time.Time
	// Q matches leads whose name, email or company contains it,
	// case-insensitively.
	Q string
}

// where adds f to q as conditions on the leads table (its own column
// names, unqualified). Each is a plain comparison, so the planner keeps
// walking (org_id, id DESC) or (org_id, campaign_id, id DESC) for the
// keyset, the status a filter on that walk (no index on status: the send
// path's status change stays heap-only, migration 20261201000001). A text
// search goes through
// leadsSearch (see there): page is the keyset page the caller will apply
// (nil: every match, for a bulk action or the export).
func (f Filter) where(q *bun.SelectQuery, page *pagination.Page) *bun.SelectQuery {
	if f.CampaignID != nil {
		q = q.Where("campaign_id = ?", *f.CampaignID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Approved != nil {
		q = q.Where("is_approved = ?", *f.Approved)
	}
	if f.Country != "" {
		q = q.Where("country = ?", f.country())
	}
	if f.CreatedFrom != nil {
		q = q.Where("created_at >= ?", *f.CreatedFrom)
	}
	if f.CreatedTo != nil {
		q = q.Where("created_at < ?", *f.CreatedTo)
	}
	if t := strings.ToLower(strings.TrimSpace(f.Q)); t != "" {
		q = q.Where("id = ANY(ARRAY(SELECT leads_search(?::text, ?::uuid, ?::integer, ?::uuid, ?::text, ?::boolean, ?::text, ?::timestamptz, ?::timestamptz)))",
			f.searchArgs(t, page)...)
	}
	return q
}

func (f Filter) country() string { return strings.ToUpper(strings.TrimSpace(f.Country)) }

// searchArgs are the arguments of leads_search, which selects the ids of the leads matching term and every other
// filter, through the SQL function leads_search (migration
// 20261128500101): under row-level security Postgres cannot use the
// trigram index for `SearchSQL LIKE …` (LIKE and lower() are not
// leakproof), so the function searches as the table's owner, scoped to the
// current organisation, and takes the page's keyset and size so that a
// page of a common term stops after a page of matches. The ids come back
// as an array so that the outer query fetches them by primary key (an
// `= ANY` on uuid is leakproof, so RLS keeps that index usable).
func (f Filter) searchArgs(term string, page *pagination.Page) []any {
	var before *uuid.UUID
	var limit *int
	if page != nil {
		if page.Before != uuid.Nil {
			before = &page.Before
		}
		n := page.Fetch()
		limit = &n
	}
	var status, country *string
	if f.Status != "" {
		status = &f.Status
	}
	if f.Country != "" {
		c := f.country()
		country = &c
	}
	return []any{likeContains(term), before, limit, f.CampaignID, status, f.Approved, country, f.CreatedFrom, f.CreatedTo}
}

// Validate checks f's values.
func (f Filter) Validate(prefix string) error {
	var fields fault.Fields
	if f.Status != "" && !ValidStatus(f.Status) {
		fields.Add(prefix+"/status", "invalid_status", "must be one of "+strings.Join(Statuses, ", "))
	}
	if f.CreatedFrom != nil && f.CreatedTo != nil && !f.CreatedFrom.Before(*f.CreatedTo) {
		fields.Add(prefix+"/created_to", "invalid_range", "must be after created_from")
	}
	return fields.Err()
}

func likeContains(p string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(p) + "%"
}

// List pages through leads, newest first.
func (s *Service) List(ctx context.Context, a access.Actor, f Filter, p pagination.Page) ([]Lead, *string, error) {
	if err := f.Validate(""); err != nil {
		return nil, nil, err
	}
	var rows []leadRow
	var next *string
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		q := f.where(tx.NewSelect().Model((*leadRow)(nil)).Where("org_id = ?", a.OrgID), &p)
		rows, next, err = pagination.Scan(ctx, q, "id", p, leadRow.key)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("leads: list: %w", err)
	}
	out := make([]Lead, len(rows))
	for i, r := range rows {
		out[i] = r.view()
	}
	return out, next, nil
}

// Each calls fn for every lead f selects, newest first, reading pages of
// batch rows (keyset, so a deep page costs what the first does). It is
// what the CSV export streams from.
func (s *Service) Each(ctx context.Context, a access.Actor, f Filter, fn func(Lead) error) error {
	if err := f.Validate(""); err != nil {
		return err
	}
	p := pagination.Page{Limit: 500}
	for {
		rows, next, err := s.List(ctx, a, f, p)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		p.Before = rows[len(rows)-1].ID
	}
}

// CampaignRef is the campaign a lead is in, as its detail shows it.
type CampaignRef struct {
	ID     uuid.UUID `bun:"id"`
	Name   string    `bun:"name"`
	Status string    `bun:"status"`
}

// SequenceRef is a lead's sequence, as its detail shows it.
type SequenceRef struct {
	ID          uuid.UUID `bun:"id"`
	CurrentStep int       `bun:"current_step"`
	IsComplete  bool      `bun:"is_complete"`
}

// Message is one entry of a lead's timeline.
type Message struct {
	ID      uuid.UUID `bun:"id"`
	Channel string    `bun:"channel"`
	Step    int       `bun:"step"`
	Subject *string   `bun:"subject"`
	Status  string    `bun:"status"`
	// ScheduledFor is when it is due; BlockedReason why it has not gone
	// (yet) or was cancelled (the sending engine's reasons).
	ScheduledFor  *time.Time `bun:"scheduled_for"`
	BlockedReason *string    `bun:"blocked_reason"`
	SentAt        *time.Time `bun:"sent_at"`
	CreatedAt     time.Time  `bun:"created_at"`
}

// Reply is one inbox message of a lead's timeline.
type Reply struct {
	ID             uuid.UUID  `bun:"id"`
	Direction      string     `bun:"direction"`
	Kind           string     `bun:"kind"`
	Classification *string    `bun:"classification"`
	Snippet        *string    `bun:"snippet"`
	ReceivedAt     *time.Time `bun:"received_at"`
}

// Activity counts what came back from a lead.
type Activity struct {
	Replies         int `bun:"replies"`
	PositiveReplies int `bun:"positive_replies"`
	AutoReplies     int `bun:"auto_replies"`
	Bounces         int `bun:"bounces"`
}

// Detail is a lead with its campaign, sequence and timeline: our messages
// and what came back (oldest first), with the counts.
type Detail struct {
	Lead
	Campaign *CampaignRef
	Sequence *SequenceRef
	Messages []Message
	Replies  []Reply
	Activity Activity
}

// Get returns one lead with its campaign, sequence and messages.
func (s *Service) Get(ctx context.Context, a access.Actor, id uuid.UUID) (Detail, error) {
	var d Detail
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		r, err := getRow(ctx, tx, a.OrgID, id, false)
		if err != nil {
			return err
		}
		d.Lead = r.view()
		if r.CampaignID != nil {
			var c []CampaignRef
			if err := tx.NewSelect().Table("campaigns").Column("id", "name", "status").
				Where("org_id = ? AND id = ?", a.OrgID, *r.CampaignID).Scan(ctx, &c); err != nil {
				return fmt.Errorf("leads: get %s: campaign: %w", id, database.Interpret(err))
			}
			if len(c) == 1 {
				d.Campaign = &c[0]
			}
		}
		var seq []SequenceRef
		if err := tx.NewSelect().Table("sequences_with_progress").Column("id", "current_step", "is_complete").
			Where("org_id = ? AND lead_id = ?", a.OrgID, id).Scan(ctx, &seq); err != nil {
			return fmt.Errorf("leads: get %s: sequence: %w", id, database.Interpret(err))
		}
		if len(seq) == 1 {
			d.Sequence = &seq[0]
		}
		d.Messages = []Message{}
		if err := tx.NewSelect().Table("messages").Column("id", "channel", "step", "subject", "status", "scheduled_for", "blocked_reason", "sent_at", "created_at").
			Where("org_id = ? AND lead_id = ?", a.OrgID, id).OrderExpr("id ASC").Limit(500).Scan(ctx, &d.Messages); err != nil {
			return fmt.Errorf("leads: get %s: messages: %w", id, database.Interpret(err))
		}
		d.Replies = []Reply{}
		if err := tx.NewSelect().Table("inbox_messages").Column("id", "direction", "kind", "classification", "snippet", "received_at").
			Where("org_id = ? AND lead_id = ?", a.OrgID, id).OrderExpr("received_at ASC, id ASC").Limit(200).Scan(ctx, &d.Replies); err != nil {
			return fmt.Errorf("leads: get %s: replies: %w", id, database.Interpret(err))
		}
		if err := tx.NewRaw(`SELECT count(*) FILTER (WHERE kind = 'reply') AS replies,
				count(*) FILTER (WHERE kind = 'reply' AND classification = 'interested') AS positive_replies,
				count(*) FILTER (WHERE kind = 'auto_reply') AS auto_replies,
				count(*) FILTER (WHERE kind IN ('bounce', 'complaint')) AS bounces
			FROM inbox_messages WHERE org_id = ? AND lead_id = ? AND direction = 'inbound'`, a.OrgID, id).Scan(ctx, &d.Activity); err != nil {
			return fmt.Errorf("leads: get %s: activity: %w", id, database.Interpret(err))
		}
		return nil
	})
	return d, err
}
