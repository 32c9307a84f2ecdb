package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/leadpilot/leadpilot/internal/database"
)

// TypePurge drops expired refresh tokens, invites and idempotency keys
// across all organisations.
const TypePurge = "maintenance:purge"

// DefaultPurgeKeep is how long expired or revoked refresh tokens and
// invites are kept before they are deleted: long enough to answer "why was
// I logged out?" the next morning.
const DefaultPurgeKeep = 24 * time.Hour

// PurgePayload is the payload of a TypePurge task.
type PurgePayload struct {
	// Keep overrides the handler's keep duration for this run, in
	// nanoseconds as encoding/json writes a time.Duration. Zero (what
	// NewPurgeTask sends) means the handler's default.
	Keep time.Duration `json:"keep,omitempty"`
}

// NewPurgeTask returns the purge task. It runs on the maintenance queue;
// a failed run retries a few times, and the next tick catches up anyway.
func NewPurgeTask() *asynq.Task {
	// The payload is written out rather than marshalled: it is the empty
	// PurgePayload, and a constructor that cannot fail needs no error.
	return asynq.NewTask(TypePurge, []byte(`{}`),
		asynq.Queue(QueueMaintenance),
		asynq.MaxRetry(3),
		asynq.Timeout(time.Minute),
	)
}

// PurgeConfig configures a PurgeHandler.
type PurgeConfig struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Keep is how long expired or revoked refresh tokens and invites stay
	// before deletion; idempotency keys go as soon as they expire. Default
	// DefaultPurgeKeep.
	Keep time.Duration
	// Logger receives one line per run with the counts. Default
	// slog.Default().
	Logger *slog.Logger
}

// PurgeHandler processes TypePurge tasks. It is idempotent by construction:
// it deletes by predicate, so a second run (a duplicate delivery, or a tick
// from a second scheduler) finds nothing left to delete.
type PurgeHandler struct {
	db     *database.DB
	now    func() time.Time
	keep   time.Duration
	logger *slog.Logger
}

// NewPurgeHandler returns a handler that purges through db. db may run as
// the RLS-bound app role: the work happens inside maint_purge_expired, a
// SECURITY DEFINER function the app role may execute.
func NewPurgeHandler(db *database.DB, cfg PurgeConfig) *PurgeHandler {
	h := &PurgeHandler{db: db, now: cfg.Now, keep: cfg.Keep, logger: cfg.Logger}
	if h.now == nil {
		h.now = time.Now
	}
	if h.keep <= 0 {
		h.keep = DefaultPurgeKeep
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	return h
}

// ProcessTask runs one purge and logs how many rows of each kind went.
func (h *PurgeHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p PurgePayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	if p.Keep < 0 {
		return fmt.Errorf("jobs: %s: negative keep %v: %w", t.Type(), p.Keep, asynq.SkipRetry)
	}
	keep := h.keep
	if p.Keep > 0 {
		keep = p.Keep
	}
	counts, err := h.purge(ctx, h.now(), keep)
	if err != nil {
		return fmt.Errorf("jobs: %s: %w", t.Type(), err)
	}
	attrs := []any{slog.Duration("keep", keep)}
	for _, c := range counts {
		attrs = append(attrs, slog.Int64(c.kind, c.deleted))
	}
	h.logger.InfoContext(ctx, "purged expired rows", attrs...)
	return nil
}

type purgeCount struct {
	kind    string
	deleted int64
}

// purge calls maint_purge_expired, which deletes in one statement and so
// in one transaction, and returns its per-table counts.
func (h *PurgeHandler) purge(ctx context.Context, now time.Time, keep time.Duration) ([]purgeCount, error) {
	rows, err := h.db.Pool.Query(ctx, `SELECT kind, deleted FROM maint_purge_expired($1, $2)`, now, keep)
	if err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	defer rows.Close()
	var counts []purgeCount
	for rows.Next() {
		var c purgeCount
		if err := rows.Scan(&c.kind, &c.deleted); err != nil {
			return nil, fmt.Errorf("purge: scan: %w", err)
		}
		counts = append(counts, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("purge: %w", err)
	}
	return counts, nil
}
