package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/leadpilot/leadpilot/internal/database"
)

// TypeEventsPrune deletes events older than the retention, with their
// webhook messages and attempts, across all organisations.
const TypeEventsPrune = "maintenance:prune_events"

// EventsPruneSchedule is how often the scheduler enqueues TypeEventsPrune.
const EventsPruneSchedule = "@every 1h"

// DefaultEventsRetention is how long events are kept (EVENTS_RETENTION).
const DefaultEventsRetention = 30 * 24 * time.Hour

// DefaultEventsPruneBatch is how many events one maint_prune_events call
// deletes: small enough to keep each statement's locks short.
const DefaultEventsPruneBatch = 5000

// NewEventsPruneTask returns the prune task, on the maintenance queue.
func NewEventsPruneTask() *asynq.Task {
	return asynq.NewTask(TypeEventsPrune, []byte(`{}`),
		asynq.Queue(QueueMaintenance),
		asynq.MaxRetry(3),
		asynq.Timeout(30*time.Minute),
	)
}

// EventsPruneConfig configures an EventsPruneHandler.
type EventsPruneConfig struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Retention is how long events are kept. Default
	// DefaultEventsRetention.
	Retention time.Duration
	// Batch is how many events one statement deletes. Default
	// DefaultEventsPruneBatch.
	Batch int
	// Logger receives one line per run. Default slog.Default().
	Logger *slog.Logger
}

// EventsPruneHandler processes TypeEventsPrune tasks: an idempotent sweep
// (it deletes by age, so a second run finds nothing).
type EventsPruneHandler struct {
	db  *database.DB
	cfg EventsPruneConfig
}

// NewEventsPruneHandler returns a handler that prunes through db; the app
// role is enough (maint_prune_events is SECURITY DEFINER).
func NewEventsPruneHandler(db *database.DB, cfg EventsPruneConfig) *EventsPruneHandler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultEventsRetention
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultEventsPruneBatch
	}
	cfg.Logger = orDefault(cfg.Logger)
	return &EventsPruneHandler{db: db, cfg: cfg}
}

// ProcessTask deletes, batch by batch, the events older than the
// retention.
func (h *EventsPruneHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p struct{}
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	before := h.cfg.Now().Add(-h.cfg.Retention)
	var total int64
	for {
		var n int64
		if err := h.db.Pool.QueryRow(ctx, `SELECT maint_prune_events($1, $2)`, before, h.cfg.Batch).Scan(&n); err != nil {
			return fmt.Errorf("jobs: %s: %w", t.Type(), err)
		}
		total += n
		if n < int64(h.cfg.Batch) {
			break
		}
	}
	h.cfg.Logger.InfoContext(ctx, "pruned events", slog.Time("before", before), slog.Int64("deleted", total))
	return nil
}
