package sending

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/events"

	"github.com/google/uuid"
)

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
		evs[i] = events.New{Type: t, ObjectID: r.ID, Data: r.view().Resource()}
	}
	if _, err := events.RecordBatch(ctx, tx, org, evs); err != nil {
		return fmt.Errorf("sending: record %s: %w", t, err)
	}
	return nil
}
