package inbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// FilterUnclassified is the thread filter for threads with no classified
// inbound message yet.
const FilterUnclassified = "unclassified"

// Thread is a lead's conversation as the API shows it (the InboxThread
// schema).
type Thread struct {
	ID                         uuid.UUID
	Lead                       ThreadLead
	CampaignID, EmailAccountID *uuid.UUID
	Channel                    string
	Subject, Snippet           *string
	Classification             *string
	MessageCount, InboundCount int
	UnreadCount                int
	IsStarred, IsArchived      bool
	LastMessageAt              time.Time
	LastInboundAt              *time.Time
}

// ThreadLead is the lead a thread is with.
type ThreadLead struct {
	ID                       uuid.UUID
	Email, FullName, Company *string
	Status                   string
}

// ThreadDetail is a thread with its items, oldest first.
type ThreadDetail struct {
	Thread Thread
	Items  []ThreadItem
}

// Item types of a thread.
const (
	ItemStep    = "step"
	ItemMessage = "message"
)

// ThreadItem is one item of a thread: a step we sent (Type ItemStep,
// Step set) or an inbox message (Type ItemMessage, Message set). At is
// when it was sent or arrived.
type ThreadItem struct {
	Type    string
	At      time.Time
	Step    *Step
	Message *Message
}

// Step is a step of the lead's sequence that went out (a row of messages).
type Step struct {
	ID             uuid.UUID  `bun:"id"`
	Step           int        `bun:"step"`
	Channel        string     `bun:"channel"`
	Subject        *string    `bun:"subject"`
	BodyText       string     `bun:"body_text"`
	Status         string     `bun:"status"`
	SentAt         *time.Time `bun:"sent_at"`
	MessageID      *string    `bun:"message_id"`
	EmailAccountID *uuid.UUID `bun:"email_account_id"`
	CreatedAt      time.Time  `bun:"created_at"`
}

// stepSentStatuses are the statuses of a step that went out.
var stepSentStatuses = []string{"sent", "delivered", "read", "replied", "bounced"}

// threadView is a thread joined with its lead, as the list reads it.
type threadView struct {
	ID             uuid.UUID  `bun:"id"`
	LeadID         uuid.UUID  `bun:"lead_id"`
	CampaignID     *uuid.UUID `bun:"campaign_id"`
	EmailAccountID *uuid.UUID `bun:"email_account_id"`
	Channel        string     `bun:"channel"`
	Subject        *string    `bun:"subject"`
	Snippet        *string    `bun:"snippet"`
	Classification *string    `bun:"classification"`
	MessageCount   int        `bun:"message_count"`
	InboundCount   int        `bun:"inbound_count"`
	UnreadCount    int        `bun:"unread_count"`
	IsStarred      bool       `bun:"is_starred"`
	IsArchived     bool       `bun:"is_archived"`
	LastMessageAt  time.Time  `bun:"last_message_at"`
	LastInboundAt  *time.Time `bun:"last_inbound_at"`
	LeadEmail      *string    `bun:"lead_email"`
	LeadFullName   *string    `bun:"lead_full_name"`
	LeadCompany    *string    `bun:"lead_company"`
	LeadStatus     string     `bun:"lead_status"`
}

func (v threadView) view() Thread {
	return Thread{
		ID: v.ID, Lead: ThreadLead{ID: v.LeadID, Email: v.LeadEmail, FullName: v.LeadFullName, Company: v.LeadCompany, Status: v.LeadStatus},
		CampaignID: v.CampaignID, EmailAccountID: v.EmailAccountID, Channel: v.Channel, Subject: v.Subject, Snippet: v.Snippet,
		Classification: v.Classification, MessageCount: v.MessageCount, InboundCount: v.InboundCount, UnreadCount: v.UnreadCount,
		IsStarred: v.IsStarred, IsArchived: v.IsArchived, LastMessageAt: v.LastMessageAt, LastInboundAt: v.LastInboundAt,
	}
}

// selectThreads reads threads of org with their lead (alias t for the
// thread, l for the lead).
func selectThreads(tx bun.IDB, org uuid.UUID) *bun.SelectQuery {
	return tx.NewSelect().TableExpr("inbox_threads AS t").
		Join("JOIN leads AS l ON l.org_id = t.org_id AND l.id = t.lead_id").
		ColumnExpr("t.id, t.lead_id, t.campaign_id, t.email_account_id, t.channel, t.subject, t.snippet, t.classification").
		ColumnExpr("t.message_count, t.inbound_count, t.unread_count, t.is_starred, t.is_archived, t.last_message_at, t.last_inbound_at").
		ColumnExpr("l.email AS lead_email, NULLIF(l.full_name, '') AS lead_full_name, l.company AS lead_company, l.status AS lead_status").
		Where("t.org_id = ?", org)
}

// ThreadFilter narrows the thread list. Zero values filter nothing, except
// Archived: nil (or false) hides archived threads, true lists only them.
type ThreadFilter struct {
	// Classification is one of Classes, or FilterUnclassified.
	Classification string
	CampaignID     *uuid.UUID
	EmailAccountID *uuid.UUID
	LeadID         *uuid.UUID
	Unread         *bool
	Starred        *bool
	Archived       *bool
	// Q searches the lead's name and address, the subject and the text
	// of the lead's messages (case-insensitive substring).
	Q string
}

// maxThreadQuery bounds the search text.
const maxThreadQuery = 200

// ThreadPage asks for Limit threads after the cursor's position in the
// list's order (newest activity first).
type ThreadPage struct {
	Limit int
	after *threadPosition
}

type threadPosition struct {
	at time.Time
	id uuid.UUID
}

const threadCursorPrefix = "t1:"

// ParseThreadPage turns the optional limit and cursor query values into a
// ThreadPage. The limit's bounds are the house's (internal/pagination);
// the cursor is opaque and only one this package made is accepted.
func ParseThreadPage(limit *int, cursor *string) (ThreadPage, error) {
	n, at, id, err := pagination.ParseKeyed(limit, cursor, threadCursorPrefix, parseMicros)
	if err != nil {
		return ThreadPage{}, err
	}
	p := ThreadPage{Limit: n}
	if at != nil {
		p.after = &threadPosition{at: *at, id: id}
	}
	return p, nil
}

// The cursor keeps last_message_at in microseconds, Postgres's precision,
// so that the next page starts exactly after the last row.
func encodeThreadCursor(p threadPosition) string {
	return pagination.EncodeKeyed(threadCursorPrefix, strconv.FormatInt(p.at.UnixMicro(), 10), p.id)
}

func decodeThreadCursor(s string) (threadPosition, bool) {
	_, at, id, err := pagination.ParseKeyed(nil, &s, threadCursorPrefix, parseMicros)
	if err != nil || at == nil {
		return threadPosition{}, false
	}
	return threadPosition{at: *at, id: id}, true
}

func parseMicros(s string) (time.Time, bool) {
	micros, err := strconv.ParseInt(s, 10, 64)
	return time.UnixMicro(micros).UTC(), err == nil
}

func checkThreadFilter(f ThreadFilter) error {
	var fs fault.Fields
	if f.Classification != "" && f.Classification != FilterUnclassified && !slices.Contains(Classes, f.Classification) {
		fs.Add("/classification", "invalid_value", "must be one of "+strings.Join(Classes, ", ")+", "+FilterUnclassified)
	}
	if len([]rune(f.Q)) > maxThreadQuery {
		fs.Add("/q", "too_long", fmt.Sprintf("must be at most %d characters", maxThreadQuery))
	}
	return fs.Err()
}

// threadSearchPattern escapes LIKE's wildcards in p and wraps it in them.
func threadSearchPattern(p string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(p) + "%"
}

// List pages through the organisation's threads, newest activity first
// (last_message_at, then id), and returns the next page's cursor (nil on
// the last page).
func (s *Service) List(ctx context.Context, a access.Actor, f ThreadFilter, p ThreadPage) ([]Thread, *string, error) {
	if err := checkThreadFilter(f); err != nil {
		return nil, nil, err
	}
	if p.Limit <= 0 {
		p.Limit = pagination.DefaultLimit
	}
	var rows []threadView
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		q := selectThreads(tx, a.OrgID)
		switch f.Classification {
		case "":
		case FilterUnclassified:
			q = q.Where("t.classification IS NULL")
		default:
			q = q.Where("t.classification = ?", f.Classification)
		}
		if f.CampaignID != nil {
			q = q.Where("t.campaign_id = ?", *f.CampaignID)
		}
		if f.EmailAccountID != nil {
			q = q.Where("t.email_account_id = ?", *f.EmailAccountID)
		}
		if f.LeadID != nil {
			q = q.Where("t.lead_id = ?", *f.LeadID)
		}
		if f.Unread != nil {
			q = q.Where("(t.unread_count > 0) = ?", *f.Unread)
		}
		if f.Starred != nil {
			q = q.Where("t.is_starred = ?", *f.Starred)
		}
		q = q.Where("t.is_archived = ?", f.Archived != nil && *f.Archived)
		if f.Q != "" {
			// Within the organisation (RLS and t.org_id): its leads, its
			// threads and the inbound messages of each thread, which the
			// inbox_messages_org_inbox_thread_idx index reaches by thread.
			pat := threadSearchPattern(f.Q)
			q = q.Where(`(l.email ILIKE ?0 OR l.full_name ILIKE ?0 OR l.company ILIKE ?0 OR t.subject ILIKE ?0
				OR EXISTS (SELECT 1 FROM inbox_messages m
				            WHERE m.org_id = t.org_id AND m.inbox_thread_id = t.id AND m.direction = 'inbound'
				              AND (m.subject ILIKE ?0 OR m.body_text ILIKE ?0 OR m.from_address ILIKE ?0 OR m.from_name ILIKE ?0)))`, pat)
		}
		if p.after != nil {
			q = q.Where("(t.last_message_at, t.id) < (?, ?)", p.after.at, p.after.id)
		}
		return q.OrderExpr("t.last_message_at DESC, t.id DESC").Limit(int64(p.Limit+1)).Scan(ctx, &rows)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("inbox: list threads: %w", database.Interpret(err))
	}
	rows, next := pagination.TrimKeyed(p.Limit, rows, func(last threadView) string {
		return encodeThreadCursor(threadPosition{at: last.LastMessageAt, id: last.ID})
	})
	out := make([]Thread, len(rows))
	for i, r := range rows {
		out[i] = r.view()
	}
	return out, next, nil
}

// inboxNotFound turns database.ErrNotFound into the API's 404 for what.
func inboxNotFound(err error, what string) error {
	if errors.Is(err, database.ErrNotFound) {
		return fault.NotFound(what).WithCause(err)
	}
	return err
}

func loadThread(ctx context.Context, tx bun.IDB, org, id uuid.UUID) (Thread, error) {
	var v threadView
	if err := selectThreads(tx, org).Where("t.id = ?", id).Scan(ctx, &v); err != nil {
		return Thread{}, err
	}
	return v.view(), nil
}

// Get returns a thread with its items: the steps we sent the lead and
// the thread's inbox messages, oldest first.
func (s *Service) Get(ctx context.Context, a access.Actor, id uuid.UUID) (ThreadDetail, error) {
	var d ThreadDetail
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var err error
		if d.Thread, err = loadThread(ctx, tx, a.OrgID, id); err != nil {
			return err
		}
		var steps []Step
		if err := tx.NewSelect().TableExpr("messages").
			ColumnExpr("id, step, channel, subject, body_text, status, sent_at, message_id, email_account_id, created_at").
			Where("org_id = ? AND lead_id = ? AND status IN (?)", a.OrgID, d.Thread.Lead.ID, bun.In(stepSentStatuses)).
			Scan(ctx, &steps); err != nil && !errors.Is(database.Interpret(err), database.ErrNotFound) {
			return err
		}
		var msgs []messageRow
		if err := tx.NewSelect().Model(&msgs).Where("org_id = ? AND inbox_thread_id = ?", a.OrgID, id).
			Scan(ctx); err != nil && !errors.Is(database.Interpret(err), database.ErrNotFound) {
			return err
		}
		d.Items = make([]ThreadItem, 0, len(steps)+len(msgs))
		for i := range steps {
			at := steps[i].CreatedAt
			if steps[i].SentAt != nil {
				at = *steps[i].SentAt
			}
			d.Items = append(d.Items, ThreadItem{Type: ItemStep, At: at, Step: &steps[i]})
		}
		for _, m := range msgs {
			v := m.view()
			d.Items = append(d.Items, ThreadItem{Type: ItemMessage, At: m.itemAt(), Message: &v})
		}
		slices.SortStableFunc(d.Items, func(x, y ThreadItem) int { return x.At.Compare(y.At) })
		return nil
	})
	if err != nil {
		return ThreadDetail{}, inboxNotFound(fmt.Errorf("inbox: get thread %s: %w", id, database.Interpret(err)), "thread")
	}
	return d, nil
}

// itemAt is when the message arrived, or was written for one composed here.
func (r messageRow) itemAt() time.Time {
	if r.ReceivedAt != nil {
		return *r.ReceivedAt
	}
	return r.CreatedAt
}

// SetRead marks every message of a thread read (read) or its inbound
// messages unread (!read), and returns the thread with its unread count
// recounted.
//
// The thread's messages are locked before the thread, in id order, as
// classification locks them (then their leads, then their threads): a
// thread locked first, while a classification held one of its messages
// and waited for the thread, was a deadlock. All of them are locked, read
// or not, so two people marking the thread read and unread at once take
// turns rather than each changing half. Only the messages locked then
// change: one that arrives meanwhile stays unread.
func (s *Service) SetRead(ctx context.Context, a access.Actor, id uuid.UUID, read bool) (Thread, error) {
	var ids []uuid.UUID
	before := func(ctx context.Context, tx bun.IDB) error {
		return tx.NewSelect().Model((*messageRow)(nil)).Column("id").
			Where("org_id = ? AND inbox_thread_id = ?", a.OrgID, id).OrderExpr("id").For("NO KEY UPDATE").Scan(ctx, &ids)
	}
	return s.changeThreadAfter(ctx, a, id, fmt.Sprintf("mark read=%t", read), before, func(ctx context.Context, tx bun.IDB) error {
		if len(ids) > 0 {
			q := tx.NewUpdate().Model((*messageRow)(nil)).Set("is_read = ?", read).Set("updated_at = ?", s.opts.Now()).
				Where("org_id = ? AND id IN (?) AND is_read <> ?", a.OrgID, bun.In(ids), read)
			if !read {
				q = q.Where("direction = 'inbound'")
			}
			if _, err := q.Exec(ctx); err != nil {
				return err
			}
		}
		_, err := tx.NewRaw(`UPDATE inbox_threads t SET unread_count = (
			  SELECT count(*) FROM inbox_messages m
			   WHERE m.org_id = t.org_id AND m.inbox_thread_id = t.id AND m.direction = 'inbound' AND NOT m.is_read),
			  updated_at = ?
			WHERE t.org_id = ? AND t.id = ?`, s.opts.Now(), a.OrgID, id).Exec(ctx)
		return err
	})
}

// SetStarred stars or unstars a thread and returns it.
func (s *Service) SetStarred(ctx context.Context, a access.Actor, id uuid.UUID, starred bool) (Thread, error) {
	return s.changeThread(ctx, a, id, fmt.Sprintf("star=%t", starred), func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewUpdate().Model((*threadRow)(nil)).Set("is_starred = ?", starred).Set("updated_at = ?", s.opts.Now()).
			Where("org_id = ? AND id = ?", a.OrgID, id).Exec(ctx)
		return err
	})
}

// SetArchived archives a thread or brings it back, and returns it.
func (s *Service) SetArchived(ctx context.Context, a access.Actor, id uuid.UUID, archived bool) (Thread, error) {
	return s.changeThread(ctx, a, id, fmt.Sprintf("archive=%t", archived), func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewUpdate().Model((*threadRow)(nil)).Set("is_archived = ?", archived).Set("updated_at = ?", s.opts.Now()).
			Where("org_id = ? AND id = ?", a.OrgID, id).Exec(ctx)
		return err
	})
}

// changeThread locks thread id of a's organisation (404 when there is
// none), applies change and returns the thread as it now is.
func (s *Service) changeThread(ctx context.Context, a access.Actor, id uuid.UUID, what string, change func(ctx context.Context, tx bun.IDB) error) (Thread, error) {
	return s.changeThreadAfter(ctx, a, id, what, nil, change)
}

// changeThreadAfter is changeThread with before (when not nil) run first,
// in the same transaction, before the thread is locked.
func (s *Service) changeThreadAfter(ctx context.Context, a access.Actor, id uuid.UUID, what string, before, change func(ctx context.Context, tx bun.IDB) error) (Thread, error) {
	var t Thread
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		if before != nil {
			if err := before(ctx, tx); err != nil && !errors.Is(database.Interpret(err), database.ErrNotFound) {
				return err
			}
		}
		var locked uuid.UUID
		if err := tx.NewRaw(`SELECT id FROM inbox_threads WHERE org_id = ? AND id = ? FOR UPDATE`, a.OrgID, id).Scan(ctx, &locked); err != nil {
			return err
		}
		if err := change(ctx, tx); err != nil {
			return err
		}
		var err error
		t, err = loadThread(ctx, tx, a.OrgID, id)
		return err
	})
	if err != nil {
		return Thread{}, inboxNotFound(fmt.Errorf("inbox: thread %s %s: %w", id, what, database.Interpret(err)), "thread")
	}
	return t, nil
}

// GetMessage returns one inbox message of a's organisation: either
// direction, any kind, in a thread or not.
func (s *Service) GetMessage(ctx context.Context, a access.Actor, id uuid.UUID) (Message, error) {
	var r messageRow
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		return tx.NewSelect().Model(&r).Where("org_id = ? AND id = ?", a.OrgID, id).Scan(ctx)
	})
	if err != nil {
		return Message{}, inboxNotFound(fmt.Errorf("inbox: get message %s: %w", id, database.Interpret(err)), "inbox message")
	}
	return r.view(), nil
}

// OtherFilter narrows the "other" view. Zero values filter nothing.
type OtherFilter struct {
	EmailAccountID *uuid.UUID
	// Kind is reply, auto_reply, bounce or complaint.
	Kind string
}

// Other pages through the inbound messages that matched no lead (no
// thread), newest first (ids are UUIDv7).
func (s *Service) Other(ctx context.Context, a access.Actor, f OtherFilter, p pagination.Page) ([]Message, *string, error) {
	if f.Kind != "" && !slices.Contains([]string{KindReply, KindAutoReply, KindBounce, KindComplaint}, f.Kind) {
		return nil, nil, fault.Invalid(fault.FieldError{Field: "/kind", Code: "invalid_value", Message: "must be one of reply, auto_reply, bounce, complaint"})
	}
	p.Limit = cmp.Or(p.Limit, pagination.DefaultLimit)
	var rows []messageRow
	var next *string
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		q := tx.NewSelect().Model((*messageRow)(nil)).
			Where("org_id = ? AND inbox_thread_id IS NULL AND direction = 'inbound'", a.OrgID)
		if f.EmailAccountID != nil {
			q = q.Where("email_account_id = ?", *f.EmailAccountID)
		}
		if f.Kind != "" {
			q = q.Where("kind = ?", f.Kind)
		}
		var err error
		rows, next, err = pagination.Scan(ctx, q, "id", p, func(r messageRow) uuid.UUID { return r.ID })
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("inbox: other: %w", database.Interpret(err))
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = r.view()
	}
	return out, next, nil
}
