package inbox

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/leadpilot/leadpilot/internal/database"
)

// Worker is the inbox as the worker's tasks drive it: one mailbox's sync,
// one batch's classification, and the sweep's scans.
type Worker struct {
	Service   *Service
	Mailboxes Mailboxes
	Sync      SyncOptions
}

// SyncMailbox runs one sync of account. A failure of the mailbox (a
// refused login, a server that does not answer) is recorded on it and is
// not an error of the task: the next sync is scheduled by its backoff.
func (w Worker) SyncMailbox(ctx context.Context, org, account uuid.UUID) error {
	_, err := w.Service.SyncMailbox(ctx, w.Mailboxes, org, account, w.Sync)
	return err
}

// Classify classifies ids of org.
func (w Worker) Classify(ctx context.Context, org uuid.UUID, ids []uuid.UUID) error {
	_, err := w.Service.Classify(ctx, org, ids)
	return err
}

// DueMailboxes lists the mailboxes whose sync is due, across
// organisations.
func (w Worker) DueMailboxes(ctx context.Context, limit int) ([][2]uuid.UUID, error) {
	return w.Service.Due(ctx, limit)
}

// Unclassified lists, per organisation, inbound messages still
// unclassified that arrived before before.
func (w Worker) Unclassified(ctx context.Context, before time.Time, limit int) (map[uuid.UUID][]uuid.UUID, error) {
	var rows []struct {
		OrgID uuid.UUID `bun:"org_id,type:uuid"`
		ID    uuid.UUID `bun:"id,type:uuid"`
	}
	if err := w.Service.db.Bun.NewRaw(`SELECT org_id, id FROM maint_unclassified_inbox(?, ?)`, before, limit).Scan(ctx, &rows); err != nil &&
		database.Interpret(err) != database.ErrNotFound {
		return nil, fmt.Errorf("inbox: unclassified: %w", database.Interpret(err))
	}
	out := map[uuid.UUID][]uuid.UUID{}
	for _, r := range rows {
		out[r.OrgID] = append(out[r.OrgID], r.ID)
	}
	return out, nil
}
