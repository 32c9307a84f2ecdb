package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// Message is one event queued for one endpoint, and how its delivery went.
type Message struct {
	EventID   uuid.UUID  `bun:"event_id"`
	EventType string     `bun:"event_type"`
	Status    string     `bun:"status"`
	Attempts  int        `bun:"attempts"`
	NextAt    *time.Time `bun:"next_attempt_at"` // nil once succeeded or failed
	LastAt    *time.Time `bun:"last_attempt_at"`
	LastCode  *int       `bun:"last_status_code"`
	LastError *string    `bun:"last_error"`
	CreatedAt time.Time  `bun:"created_at"`
}

// Attempt is one HTTP request made to deliver an event.
type Attempt struct {
	ID              uuid.UUID `bun:"id"`
	EventID         uuid.UUID `bun:"event_id"`
	AttemptedAt     time.Time `bun:"attempted_at"`
	StatusCode      *int      `bun:"status_code"`
	LatencyMS       int       `bun:"latency_ms"`
	Succeeded       bool      `bun:"succeeded"`
	Error           *string   `bun:"error"`
	ResponseSnippet *string   `bun:"response_snippet"`
}

// messageColumns reads a message with its event's type; next_attempt_at
// only while it is still to be sent.
const messageColumns = `m.event_id, e.type AS event_type, m.status, m.attempts,
	CASE WHEN m.status IN ('pending', 'sending') THEN m.next_attempt_at END AS next_attempt_at,
	m.last_attempt_at, m.last_status_code, m.last_error, m.created_at`

// Messages pages through the messages of endpoint id, newest event first;
// status "" lists all.
func (s *Service) Messages(ctx context.Context, a access.Actor, id uuid.UUID, status string, p pagination.Page) ([]Message, *string, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return nil, nil, err
	}
	var rows []Message
	var next *string
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		if _, err = load(ctx, tx, a, id, false); err != nil {
			return err
		}
		q := tx.NewSelect().TableExpr("webhook_messages AS m").Join("JOIN events AS e ON e.id = m.event_id").
			ColumnExpr(messageColumns).Where("m.org_id = ? AND m.endpoint_id = ?", a.OrgID, id)
		if status != "" {
			q = q.Where("m.status = ?", status)
		}
		rows, next, err = pagination.Scan(ctx, q, "m.event_id", p, func(m Message) uuid.UUID { return m.EventID })
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("webhooks: messages of %s: %w", id, err)
	}
	return rows, next, nil
}

// Attempts pages through the delivery log of endpoint id, newest first;
// eventID narrows it to one event's attempts.
func (s *Service) Attempts(ctx context.Context, a access.Actor, id uuid.UUID, eventID *uuid.UUID, p pagination.Page) ([]Attempt, *string, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return nil, nil, err
	}
	var rows []Attempt
	var next *string
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) (err error) {
		if _, err = load(ctx, tx, a, id, false); err != nil {
			return err
		}
		q := tx.NewSelect().TableExpr("webhook_attempts").
			ColumnExpr("id, event_id, attempted_at, status_code, latency_ms, succeeded, error, response_snippet").
			Where("org_id = ? AND endpoint_id = ?", a.OrgID, id)
		if eventID != nil {
			q = q.Where("event_id = ?", *eventID)
		}
		rows, next, err = pagination.Scan(ctx, q, "id", p, func(at Attempt) uuid.UUID { return at.ID })
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("webhooks: attempts of %s: %w", id, err)
	}
	return rows, next, nil
}

// errDisabled refuses a replay to a disabled endpoint: nothing would be
// delivered until it is enabled.
func errDisabled() error {
	return fault.Conflict("endpoint_disabled", "the webhook endpoint is disabled: enable it, then replay")
}

// ReplayMessage queues event eventID for endpoint id again: pending, due
// now, attempts back to 0 (the whole retry schedule again; the attempt log
// keeps the earlier ones). An event the endpoint never got is queued for
// it; a message being delivered right now is left alone. The dispatcher is
// notified when the transaction commits.
func (s *Service) ReplayMessage(ctx context.Context, a access.Actor, id, eventID uuid.UUID) (Message, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return Message{}, err
	}
	var m Message
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		r, err := load(ctx, tx, a, id, false)
		if err != nil {
			return err
		}
		if r.Status != StatusEnabled {
			return errDisabled()
		}
		if _, err := events.Get(ctx, tx, a.OrgID, eventID); err != nil {
			return err
		}
		_, err = tx.NewRaw(`
			INSERT INTO webhook_messages AS m (org_id, endpoint_id, event_id, status, next_attempt_at, created_at)
			VALUES (?, ?, ?, 'pending', now(), now())
			ON CONFLICT (endpoint_id, event_id) DO UPDATE
			   SET status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL
			 WHERE m.status <> 'sending'`, a.OrgID, id, eventID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("webhooks: replay %s to %s: %w", eventID, id, database.Interpret(err))
		}
		if err := notify(ctx, tx, id); err != nil {
			return err
		}
		err = tx.NewSelect().TableExpr("webhook_messages AS m").Join("JOIN events AS e ON e.id = m.event_id").
			ColumnExpr(messageColumns).Where("m.org_id = ? AND m.endpoint_id = ? AND m.event_id = ?", a.OrgID, id, eventID).Scan(ctx, &m)
		if err != nil {
			return fmt.Errorf("webhooks: replay %s to %s: read back: %w", eventID, id, database.Interpret(err))
		}
		return nil
	})
	return m, err
}

// Replay is a replay of everything since a time.
type Replay struct {
	Since time.Time
	// Until nil: now.
	Until *time.Time
	// OnlyFailed queues failed messages and events the endpoint never got;
	// false also redelivers what succeeded.
	OnlyFailed bool
}

// replaySQL queues, in one statement, every event of the organisation in
// [since, until) that the endpoint subscribes to by its event_types (test
// events only when they were sent to it), as ReplayMessage does: new
// messages for events it never got, failed (and, unless only_failed,
// succeeded) messages back to pending; waiting and in-flight messages are
// left alone. The id range (with a second of slack: an id and its
// occurred_at come from the clock a moment apart) keeps the scan on
// events_org_id_idx; occurred_at decides. It returns how many messages it
// queued.
const replaySQL = `
WITH ep AS (
  SELECT id, event_types FROM webhook_endpoints WHERE org_id = ?0 AND id = ?1
), cand AS (
  SELECT e.id FROM events e, ep
   WHERE e.org_id = ?0 AND e.id >= ?2 AND e.id < ?3
     AND e.occurred_at >= ?4 AND e.occurred_at < ?5
     AND CASE WHEN e.type = 'webhook.test' THEN e.object_id = ep.id
              ELSE ep.event_types @> ARRAY[e.type] OR ep.event_types @> ARRAY['*'] END
), q AS (
  INSERT INTO webhook_messages AS m (org_id, endpoint_id, event_id, status, next_attempt_at, created_at)
  SELECT ?0, ?1, cand.id, 'pending', now(), now() FROM cand
  ON CONFLICT (endpoint_id, event_id) DO UPDATE
     SET status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL
   WHERE m.status = 'failed' OR (NOT ?6 AND m.status = 'succeeded')
  RETURNING 1
)
SELECT count(*) FROM q`

// Replay queues again everything since r.Since for endpoint id (see
// replaySQL) and returns how many messages it queued. Since must lie
// within the event retention. The dispatcher is notified when the
// transaction commits.
func (s *Service) Replay(ctx context.Context, a access.Actor, id uuid.UUID, r Replay) (int64, error) {
	if err := a.RequireAdminOrKey(manageWhat); err != nil {
		return 0, err
	}
	now := s.now()
	until := now.Add(time.Minute) // what is written while this runs is sent anyway
	if r.Until != nil {
		until = *r.Until
	}
	var fields fault.Fields
	if r.Since.Before(now.Add(-s.retention)) {
		fields.Add("/since", "out_of_range", fmt.Sprintf("must be within the event retention (the last %s)", retentionWords(s.retention)))
	}
	if !until.After(r.Since) {
		fields.Add("/until", "before_since", "must be after since")
	}
	if err := fields.Err(); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		ep, err := load(ctx, tx, a, id, false)
		if err != nil {
			return err
		}
		if ep.Status != StatusEnabled {
			return errDisabled()
		}
		err = tx.NewRaw(replaySQL, a.OrgID, id, events.IDAt(r.Since.Add(-time.Second)), events.IDAt(until.Add(time.Second)),
			r.Since, until, r.OnlyFailed).Scan(ctx, &n)
		if err != nil {
			return fmt.Errorf("webhooks: replay since %s to %s: %w", r.Since.Format(time.RFC3339), id, database.Interpret(err))
		}
		if n > 0 {
			return notify(ctx, tx, id)
		}
		return nil
	})
	return n, err
}

// notify wakes the delivery dispatcher for endpoint id when tx commits.
func notify(ctx context.Context, tx bun.IDB, id uuid.UUID) error {
	if _, err := tx.NewRaw("SELECT pg_notify(?, ?)", events.NotifyChannel, id.String()).Exec(ctx); err != nil {
		return fmt.Errorf("webhooks: notify %s: %w", id, database.Interpret(err))
	}
	return nil
}

// retentionWords says d in days when it is whole days.
func retentionWords(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "day"
	case d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	default:
		return d.String()
	}
}
