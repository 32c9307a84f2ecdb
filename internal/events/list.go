package events

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
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// Service reads an organisation's event log: GET /v1/events and
// GET /v1/event-types. Any member (and any API key) may read it: an event
// shows what the API would show them about the object anyway.
type Service struct {
	db *database.DB
}

// NewService returns a Service on db.
func NewService(db *database.DB) *Service { return &Service{db: db} }

// Filter narrows a list. Zero values filter nothing; filters combine with
// AND, and Types with OR among themselves.
type Filter struct {
	Types      []Type
	ObjectType string
	ObjectID   *uuid.UUID
	// Since keeps events that occurred at or after it, Until those that
	// occurred before it.
	Since, Until *time.Time
}

// idSlack widens the id range a time bound gives: an event's id and its
// occurred_at are taken from the clock a moment apart, so the range
// (which lets the scan use the (org_id, id) indexes) is a little wider
// than the time filter, which decides.
const idSlack = time.Second

// IDAt is the smallest UUIDv7 of the millisecond t falls in: every id
// generated at or after t is at least IDAt(t), and every id generated
// before is below it (UUIDv7 keeps the Unix milliseconds in its first 48
// bits). A time range is then an id range, which the (org_id, id)
// indexes serve.
func IDAt(t time.Time) uuid.UUID {
	var u uuid.UUID
	ms := t.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	for i := 5; i >= 0; i-- {
		u[i] = byte(ms)
		ms >>= 8
	}
	u[6] = 0x70 // version 7
	u[8] = 0x80 // RFC 9562 variant
	return u
}

// List pages through org's events, newest first (by id, which orders
// them by time).
func (s *Service) List(ctx context.Context, a access.Actor, f Filter, p pagination.Page) ([]Event, *string, error) {
	if f.Since != nil && f.Until != nil && !f.Until.After(*f.Since) {
		return nil, nil, fault.Invalid(fault.FieldError{Field: "/query/until", Code: "before_since", Message: "must be after since"})
	}
	var rows []Event
	var next *string
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		q := tx.NewSelect().TableExpr("events").
			ColumnExpr("id, type, occurred_at, object_type, object_id, data").
			Where("org_id = ?", a.OrgID)
		if len(f.Types) > 0 {
			ts := make([]string, len(f.Types))
			for i, t := range f.Types {
				ts[i] = string(t)
			}
			q = q.Where("type = ANY(?::text[])", pgdialect.Array(ts))
		}
		if f.ObjectType != "" {
			q = q.Where("object_type = ?", f.ObjectType)
		}
		if f.ObjectID != nil {
			q = q.Where("object_id = ?", *f.ObjectID)
		}
		if f.Since != nil {
			q = q.Where("occurred_at >= ?", *f.Since).Where("id >= ?", IDAt(f.Since.Add(-idSlack)))
		}
		if f.Until != nil {
			q = q.Where("occurred_at < ?", *f.Until).Where("id < ?", IDAt(f.Until.Add(idSlack)))
		}
		rows, next, err = pagination.Scan(ctx, q, "id", p, func(e Event) uuid.UUID { return e.ID })
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("events: list: %w", err)
	}
	return rows, next, nil
}

// Get returns one of org's events.
func (s *Service) Get(ctx context.Context, a access.Actor, id uuid.UUID) (Event, error) {
	var e Event
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		var err error
		e, err = Get(ctx, tx, a.OrgID, id)
		return err
	})
	return e, err
}

// Get reads event id of org in tx; a fault (404) when there is none.
func Get(ctx context.Context, tx bun.IDB, org, id uuid.UUID) (Event, error) {
	var e Event
	err := tx.NewSelect().TableExpr("events").
		ColumnExpr("id, type, occurred_at, object_type, object_id, data").
		Where("org_id = ? AND id = ?", org, id).Scan(ctx, &e)
	if err != nil {
		if err = database.Interpret(err); errors.Is(err, database.ErrNotFound) {
			return Event{}, fault.NotFound("event")
		}
		return Event{}, fmt.Errorf("events: get %s: %w", id, err)
	}
	return e, nil
}
