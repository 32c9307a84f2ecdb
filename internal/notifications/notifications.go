package notifications

import (
	"context"
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
	bun.BaseModel `bun:"table:notifications,alias:n"`

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
	n, read, id, err := pagination.ParseKeyed(limit, cursor, cursorPrefix, func(k string) (bool, bool) { return k == "1", k == "0" || k == "1" })
	if err != nil {
		return Page{}, err
	}
	p := Page{Limit: n}
	if read != nil {
		p.after = &position{read: *read, id: id}
	}
	return p, nil
}

func encodeCursor(p position) string {
	r := "0"
	if p.read {
		r = "1"
	}
	return pagination.EncodeKeyed(cursorPrefix, r, p.id)
}

// visibleSQL is what a signed-in user (?0) sees in organisation ?1: their
// own notifications and the broadcast ones, each broadcast with the user's
// own read state from notification_reads. RLS already limits it to the
// organisation; the org_id condition uses the indexes.
const visibleSQL = `SELECT n.id, n.org_id, n.user_id, n.type, n.title, n.message, n.campaign_id, n.lead_id, n.action_url,
       CASE WHEN n.user_id IS NULL THEN r.read_at IS NOT NULL ELSE n.is_read END AS is_read,
       CASE WHEN n.user_id IS NULL THEN r.read_at ELSE n.read_at END AS read_at,
       n.created_at
  FROM notifications n
  LEFT JOIN notification_reads r ON r.notification_id = n.id AND r.user_id = ?0
 WHERE n.org_id = ?1 AND (n.user_id = ?0 OR n.user_id IS NULL)`

// broadcastSQL is what an API key sees in organisation ?0: the broadcast
// notifications, never read (a key has no one to read them).
const broadcastSQL = `SELECT n.id, n.org_id, n.user_id, n.type, n.title, n.message, n.campaign_id, n.lead_id, n.action_url,
       false AS is_read, NULL::timestamptz AS read_at, n.created_at
  FROM notifications n
 WHERE n.org_id = ?0 AND n.user_id IS NULL`

// visible selects into model what a sees, as rows with a's read state.
func visible(tx bun.IDB, a access.Actor, model any) *bun.SelectQuery {
	var sub *bun.RawQuery
	if a.IsAPIKey() || a.UserID == uuid.Nil {
		sub = tx.NewRaw(broadcastSQL, a.OrgID)
	} else {
		sub = tx.NewRaw(visibleSQL, a.UserID, a.OrgID)
	}
	return tx.NewSelect().Model(model).ModelTableExpr("(?) AS n", sub)
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
		q := visible(tx, a, &rows)
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
	rows, next := pagination.TrimKeyed(p.Limit, rows, func(last row) string {
		return encodeCursor(position{read: last.IsRead, id: last.ID})
	})
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
		return visible(tx, a, &r).Where("id = ?", id).Scan(ctx)
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
		if err := visible(tx, a, &r).Where("id = ?", id).Scan(ctx); err != nil {
			return err
		}
		var err error
		switch {
		case r.UserID == nil && read:
			_, err = tx.NewRaw(`INSERT INTO notification_reads (org_id, notification_id, user_id, read_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (notification_id, user_id) DO NOTHING`, a.OrgID, id, a.UserID, s.now()).Exec(ctx)
		case r.UserID == nil:
			_, err = tx.NewRaw(`DELETE FROM notification_reads WHERE notification_id = ? AND user_id = ?`, id, a.UserID).Exec(ctx)
		case read:
			_, err = tx.NewRaw(`UPDATE notifications SET is_read = true, read_at = COALESCE(read_at, ?) WHERE org_id = ? AND id = ?`, s.now(), a.OrgID, id).Exec(ctx)
		default:
			_, err = tx.NewRaw(`UPDATE notifications SET is_read = false, read_at = NULL WHERE org_id = ? AND id = ?`, a.OrgID, id).Exec(ctx)
		}
		if err != nil {
			return err
		}
		r = row{} // a fresh row: scanning NULL into a set pointer would leave it set
		return visible(tx, a, &r).Where("id = ?", id).Scan(ctx)
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
	upTo, until := nullID(bound.UpToID), nullTime(bound.Until)
	var n int
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		own, err := tx.NewRaw(markOwnSQL, s.now(), a.OrgID, a.UserID, upTo, until).Exec(ctx)
		if err != nil {
			return err
		}
		bc, err := tx.NewRaw(markBroadcastSQL, a.OrgID, a.UserID, s.now(), upTo, until).Exec(ctx)
		if err != nil {
			return err
		}
		c1, err := own.RowsAffected()
		if err != nil {
			return err
		}
		c2, err := bc.RowsAffected()
		n = int(c1 + c2)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("notifications: mark all read: %w", database.Interpret(err))
	}
	return n, nil
}

// markOwnSQL marks the user's own unread notifications read, within the
// optional bounds (?3 an id, ?4 a time; NULL bounds nothing).
const markOwnSQL = `UPDATE notifications SET is_read = true, read_at = ?0
 WHERE org_id = ?1 AND user_id = ?2 AND NOT is_read
   AND (?3::uuid IS NULL OR id <= ?3::uuid) AND (?4::timestamptz IS NULL OR created_at <= ?4::timestamptz)`

// markBroadcastSQL records the user's read of every broadcast they have
// not read yet, within the same bounds.
const markBroadcastSQL = `INSERT INTO notification_reads (org_id, notification_id, user_id, read_at)
SELECT n.org_id, n.id, ?1, ?2 FROM notifications n
 WHERE n.org_id = ?0 AND n.user_id IS NULL
   AND (?3::uuid IS NULL OR n.id <= ?3::uuid) AND (?4::timestamptz IS NULL OR n.created_at <= ?4::timestamptz)
   AND NOT EXISTS (SELECT 1 FROM notification_reads r WHERE r.notification_id = n.id AND r.user_id = ?1)
ON CONFLICT (notification_id, user_id) DO NOTHING`

// UnreadCount is how many of a's notifications are unread (broadcast ones
// only for an API key).
func (s *Service) UnreadCount(ctx context.Context, a access.Actor) (int, error) {
	var n int
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		c, err := visible(tx, a, (*row)(nil)).Where("NOT is_read").Count(ctx)
		n = int(c)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("notifications: unread count: %w", database.Interpret(err))
	}
	return n, nil
}
