package sending

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/api"
	"github.com/leadpilot/leadpilot/internal/events"

	"github.com/google/uuid"
)

// Resource is m as the API returns it (GET /v1/messages, and the data of
// the message.* events).
func (m messageRow) Resource() api.Message {
	out := api.Message{
		ID: m.ID, CampaignID: m.CampaignID, SequenceID: m.SequenceID, LeadID: m.LeadID, Channel: api.MessageChannel(m.Channel),
		EmailAccountID: m.EmailAccountID, Step: m.Step, Subject: m.Subject, BodyText: m.BodyText, MessageID: m.MessageID,
		InReplyTo: m.InReplyTo, References: m.References, ScheduledFor: m.ScheduledFor, Status: api.MessageStatus(m.Status),
		DeliveryUncertain: m.DeliveryUncertain, Attempts: m.Attempts, LastError: m.LastError, SentAt: m.SentAt,
		BouncedAt: m.BouncedAt, ProviderMessageID: m.ProviderMessageID, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
	}
	if out.References == nil {
		out.References = []string{}
	}
	if m.BlockedReason != nil {
		r := api.MessageBlockedReason(*m.BlockedReason)
		out.BlockedReason = &r
	}
	return out
}

// recordMessages writes event t for each of rows in tx. Per-message
// events of the bulk kinds (scheduled, sent) are written only while an
// enabled webhook endpoint subscribes to them, as lead.created is for an
// import (the events catalogue says so); always says to write them
// anyway (failures and bounces, which are few and matter).
func recordMessages(ctx context.Context, tx bun.IDB, org uuid.UUID, t events.Type, rows []messageRow, always bool) error {
	if len(rows) == 0 {
		return nil
	}
	if !always {
		listening, err := events.Subscribed(ctx, tx, org, t)
		if err != nil || !listening {
			return err
		}
	}
	evs := make([]events.New, len(rows))
	for i, r := range rows {
		evs[i] = events.New{Type: t, ObjectID: r.ID, Data: r.Resource()}
	}
	if _, err := events.RecordBatch(ctx, tx, org, evs); err != nil {
		return fmt.Errorf("sending: record %s: %w", t, err)
	}
	return nil
}
