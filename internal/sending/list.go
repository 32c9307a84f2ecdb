package sending

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/pagination"
)

// MessageFilter narrows ListMessages; zero fields do not filter, and the
// set ones combine with AND.
type MessageFilter struct {
	CampaignID *uuid.UUID
	LeadID     *uuid.UUID
	// Statuses keeps messages in any of these statuses.
	Statuses      []string
	Step          *int
	BlockedReason *string
}

func (m messageRow) key() uuid.UUID { return m.ID }

// Message is a message as its readers see it (the API's Message:
// Resource); never its row.
type Message struct {
	ID, LeadID             uuid.UUID
	CampaignID, SequenceID *uuid.UUID
	Channel                string
	EmailAccountID         *uuid.UUID
	Step                   int
	Subject                *string
	BodyText               string
	MessageID, InReplyTo   *string
	References             []string
	ScheduledFor           *time.Time
	Status                 string
	BlockedReason          *string
	DeliveryUncertain      bool
	Attempts               int
	LastError              *string
	SentAt, BouncedAt      *time.Time
	ProviderMessageID      *string
	CreatedAt, UpdatedAt   time.Time
}

// view is m as its readers see it.
func (m messageRow) view() Message {
	return Message{ID: m.ID, LeadID: m.LeadID, CampaignID: m.CampaignID, SequenceID: m.SequenceID, Channel: m.Channel,
		EmailAccountID: m.EmailAccountID, Step: m.Step, Subject: m.Subject, BodyText: m.BodyText, MessageID: m.MessageID,
		InReplyTo: m.InReplyTo, References: m.References, ScheduledFor: m.ScheduledFor, Status: m.Status, BlockedReason: m.BlockedReason,
		DeliveryUncertain: m.DeliveryUncertain, Attempts: m.Attempts, LastError: m.LastError, SentAt: m.SentAt, BouncedAt: m.BouncedAt,
		ProviderMessageID: m.ProviderMessageID, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

// ListMessages pages through the organisation's messages, newest first
// (ids are UUIDv7, made when a message is scheduled).
func (e *Engine) ListMessages(ctx context.Context, a access.Actor, f MessageFilter, p pagination.Page) ([]Message, *string, error) {
	var out []Message
	var next *string
	err := e.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		q := tx.NewSelect().Model((*messageRow)(nil)).Where("org_id = ?", a.OrgID)
		if f.CampaignID != nil {
			q = q.Where("campaign_id = ?", *f.CampaignID)
		}
		if f.LeadID != nil {
			q = q.Where("lead_id = ?", *f.LeadID)
		}
		if len(f.Statuses) > 0 {
			q = q.Where("status IN (?)", bun.In(f.Statuses))
		}
		if f.Step != nil {
			q = q.Where("step = ?", *f.Step)
		}
		if f.BlockedReason != nil {
			q = q.Where("blocked_reason = ?", *f.BlockedReason)
		}
		rows, n, err := pagination.Scan(ctx, q, "id", p, messageRow.key)
		if err != nil {
			return err
		}
		out, next = make([]Message, len(rows)), n
		for i, r := range rows {
			out[i] = r.view()
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sending: list messages: %w", err)
	}
	return out, next, nil
}

// GetMessage returns one message of the organisation (404 for an id of
// another one, or none).
func (e *Engine) GetMessage(ctx context.Context, a access.Actor, id uuid.UUID) (Message, error) {
	var row messageRow
	err := e.db.InTenant(ctx, a.Tenant(), func(ctx context.Context, tx bun.IDB) error {
		err := database.Interpret(tx.NewSelect().Model(&row).Where("org_id = ? AND id = ?", a.OrgID, id).Scan(ctx))
		if errors.Is(err, database.ErrNotFound) {
			return fault.NotFound("message")
		}
		if err != nil {
			return fmt.Errorf("sending: get message %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return Message{}, err
	}
	return row.view(), nil
}
