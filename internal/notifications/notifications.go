package notifications

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// Types a notification can have (the table's CHECK).
var Types = []string{
	TypeReplyReceived, TypePositiveReply, TypeBounce, TypeCampaignCompleted, TypeScrapingCompleted,
	TypeAutopilotUpdate, TypeApprovalNeeded, TypeDailyDigest, TypeSystem,
}

// Notification types.
const (
	TypeReplyReceived      = "reply_received"
	TypePositiveReply      = "positive_reply"
	TypeBounce             = "bounce"
	TypeCampaignCompleted  = "campaign_completed"
	TypeScrapingCompleted  = "scraping_completed"
	TypeAutopilotUpdate    = "autopilot_update"
	TypeApprovalNeeded     = "approval_needed"
	TypeDailyDigest        = "daily_digest"
	TypeSystem             = "system"
	notificationNotFoundAs = "notification"
)

// Notification is one notification as the API shows it.
type Notification struct {
	ID         uuid.UUID
	Type       string
	Title      string
	Message    *string
	CampaignID *uuid.UUID
	LeadID     *uuid.UUID
	ActionURL  *string
	// Broadcast is true for an organisation-wide notification (no user).
	Broadcast bool
	IsRead    bool
	ReadAt    *time.Time
	CreatedAt time.Time
}

type row struct {
	bun.BaseModel `bun:"table:notifications"`

	ID         uuid.UUID  `bun:"id,pk,type:uuid"`
	OrgID      uuid.UUID  `bun:"org_id,type:uuid"`
	UserID     *uuid.UUID `bun:"user_id,type:uuid"`
	Type       string     `bun:"type"`
	Title      string     `bun:"title"`
	Message    *string    `bun:"message"`
	CampaignID *uuid.UUID `bun:"campaign_id,type:uuid"`
	LeadID     *uuid.UUID `bun:"lead_id,type:uuid"`
	ActionURL  *string    `bun:"action_url"`
	IsRead     bool       `bun:"is_read"`
	ReadAt     *time.Time `bun:"read_at"`
	CreatedAt  time.Time  `bun:"created_at"`
}

// returnCols are row's columns, for UPDATE … RETURNING.
const returnCols = "id, org_id, user_id, type, title, message, campaign_id, lead_id, action_url, is_read, read_at, created_at"

func (r row) view() Notification {
	return Notification{ID: r.ID, Type: r.Type, Title: r.Title, Message: r.Message, CampaignID: r.CampaignID, LeadID: r.LeadID,
		ActionURL: r.ActionURL, Broadcast: r.UserID == nil, IsRead: r.IsRead, ReadAt: r.ReadAt, CreatedAt: r.CreatedAt}
}

// Service reads and changes the acting user's notifications and
// preferences.
type Service struct {
	db  *database.DB
	now func() time.Time
}

// NewService returns a Service on db.
func NewService(db *database.DB) *Service { return &Service{db: db, now: time.Now} }

// Filter narrows a list. Zero values filter nothing.
type Filter struct {
	UnreadOnly bool
	// Type is one of Types; another value is refused with 422.
	Type string
}

// Page asks for Limit notifications after the cursor's position in the
// list's order (unread first, then newest first).
type Page struct {
	Limit int
	after *position
}

type position struct {
	read bool
	id   uuid.UUID
}

const cursorPrefix = "n1:"

// ParsePage turns the optional limit and cursor query values into a Page.
// The limit's bounds are the house's (internal/pagination); the cursor is
// opaque and only one this package made is accepted.
func ParsePage(limit *int, cursor *string) (Page, error) {
	base, err := pagination.Parse(limit, nil)
	if err != nil {
		return Page{}, err
	}
	p := Page{Limit: base.Limit}
	if cursor != nil && *cursor != "" {
		pos, ok := decodeCursor(*cursor)
		if !ok {
			return Page{}, fault.BadRequest("invalid_cursor", "cursor is not one this API returned")
		}
		p.after = &pos
	}
	return p, nil
}

func encodeCursor(p position) string {
	r := "0"
	if p.read {
		r = "1"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + r + ":" + p.id.String()))
}

func decodeCursor(s string) (position, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return position{}, false
	}
	rest, ok := strings.CutPrefix(string(b), cursorPrefix)
	if !ok || len(rest) < 2 || rest[1] != ':' || (rest[0] != '0' && rest[0] != '1') {
		return position{}, false
	}
	id, err := uuid.Parse(rest[2:])
	if err != nil {
		return position{}, false
	}
	return position{read: rest[0] == '1', id: id}, true
}

// visible restricts q to what a sees: their own and the broadcast
// notifications, or the broadcast ones only for an API key. RLS already
// limits it to a's organisation; the org_id condition uses the indexes.
func visible(q *bun.SelectQuery, a access.Actor) *bun.SelectQuery {
	q = q.Where("org_id = ?", a.OrgID)
	if a.IsAPIKey() || a.UserID == uuid.Nil {
		return q.Where("user_id IS NULL")
	}
	return q.Where("(user_id = ? OR user_id IS NULL)", a.UserID)
}

func checkType(t string) error {
	if t != "" && !slices.Contains(Types, t) {
		return fault.Invalid(fault.FieldError{Field: "/type", Code: "invalid_value", Message: "must be one of " + strings.Join(Types, ", ")})
	}
	return nil
}

// List pages through a's notifications: unread first, newest first within
// each, and the next page's cursor (nil on the last page).
func (s *Service) List(ctx context.Context, a access.Actor, f Filter, p Page) ([]Notification, *string, error) {
	if err := checkType(f.Type); err != nil {
		return nil, nil, err
	}
	if p.Limit <= 0 {
		p.Limit = pagination.DefaultLimit
	}
	var rows []row
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		q := visible(tx.NewSelect().Model(&rows), a)
		if f.UnreadOnly {
			q = q.Where("NOT is_read")
		}
		if f.Type != "" {
			q = q.Where("type = ?", f.Type)
		}
		if p.after != nil {
			// Keyset on (is_read, id) in the order is_read ASC, id DESC:
			// past an unread row come older unread rows and every read
			// one; past a read row, older read rows only.
			if p.after.read {
				q = q.Where("is_read AND id < ?", p.after.id)
			} else {
				q = q.Where("(is_read OR id < ?)", p.after.id)
			}
		}
		return q.OrderExpr("is_read ASC, id DESC").Limit(int64(p.Limit + 1)).Scan(ctx)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("notifications: list: %w", database.Interpret(err))
	}
	var next *string
	if len(rows) > p.Limit {
		rows = rows[:p.Limit]
		last := rows[len(rows)-1]
		c := encodeCursor(position{read: last.IsRead, id: last.ID})
		next = &c
	}
	out := make([]Notification, len(rows))
	for i, r := range rows {
		out[i] = r.view()
	}
	return out, next, nil
}

// Get returns one of a's notifications; another user's, or another
// organisation's, is not found.
func (s *Service) Get(ctx context.Context, a access.Actor, id uuid.UUID) (Notification, error) {
	var r row
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		return visible(tx.NewSelect().Model(&r), a).Where("id = ?", id).Scan(ctx)
	})
	if err != nil {
		return Notification{}, notFound(fmt.Errorf("notifications: get %s: %w", id, database.Interpret(err)))
	}
	return r.view(), nil
}

// notFound turns database.ErrNotFound into the API's 404.
func notFound(err error) error {
	if errors.Is(err, database.ErrNotFound) {
		return fault.NotFound(notificationNotFoundAs).WithCause(err)
	}
	return err
}

// MarkRead marks one of a's notifications read and returns it. Marking a
// read notification again keeps its first read_at.
func (s *Service) MarkRead(ctx context.Context, a access.Actor, id uuid.UUID) (Notification, error) {
	return s.setRead(ctx, a, id, true)
}

// MarkUnread marks one of a's notifications unread again and returns it.
func (s *Service) MarkUnread(ctx context.Context, a access.Actor, id uuid.UUID) (Notification, error) {
	return s.setRead(ctx, a, id, false)
}

func (s *Service) setRead(ctx context.Context, a access.Actor, id uuid.UUID, read bool) (Notification, error) {
	if err := a.RequireUser("change a notification's read state"); err != nil {
		return Notification{}, err
	}
	var r row
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		q := tx.NewUpdate().Model(&r).Where("org_id = ?", a.OrgID).Where("(user_id = ? OR user_id IS NULL)", a.UserID).Where("id = ?", id)
		if read {
			q = q.Set("is_read = true").Set("read_at = COALESCE(read_at, ?)", s.now())
		} else {
			q = q.Set("is_read = false").Set("read_at = NULL")
		}
		return q.Returning(returnCols).Scan(ctx)
	})
	if err != nil {
		return Notification{}, notFound(fmt.Errorf("notifications: mark %s read=%t: %w", id, read, database.Interpret(err)))
	}
	return r.view(), nil
}

// ReadAllBound limits MarkAllRead to what the user has seen, so that a
// notification created while they read the list is not marked read
// unseen. Zero values bound nothing.
type ReadAllBound struct {
	// UpToID marks notifications whose id is at most this one (ids are
	// UUIDv7, so: created no later than it). Clients pass the newest id
	// they showed.
	UpToID uuid.UUID
	// Until marks notifications created at or before this time.
	Until time.Time
}

// MarkAllRead marks a's unread notifications (their own and the broadcast
// ones) read, within bound, and returns how many it marked.
func (s *Service) MarkAllRead(ctx context.Context, a access.Actor, bound ReadAllBound) (int, error) {
	if err := a.RequireUser("change notifications' read state"); err != nil {
		return 0, err
	}
	var n int
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		q := tx.NewUpdate().Model((*row)(nil)).Where("org_id = ?", a.OrgID).Where("(user_id = ? OR user_id IS NULL)", a.UserID).
			Where("NOT is_read").Set("is_read = true").Set("read_at = ?", s.now())
		if bound.UpToID != uuid.Nil {
			q = q.Where("id <= ?", bound.UpToID)
		}
		if !bound.Until.IsZero() {
			q = q.Where("created_at <= ?", bound.Until)
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return err
		}
		c, err := res.RowsAffected()
		n = int(c)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("notifications: mark all read: %w", database.Interpret(err))
	}
	return n, nil
}

// UnreadCount is how many of a's notifications are unread (broadcast ones
// only for an API key).
func (s *Service) UnreadCount(ctx context.Context, a access.Actor) (int, error) {
	var n int
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		c, err := visible(tx.NewSelect().Model((*row)(nil)), a).Where("NOT is_read").Count(ctx)
		n = int(c)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("notifications: unread count: %w", database.Interpret(err))
	}
	return n, nil
}
