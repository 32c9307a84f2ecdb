package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/leadpilot/leadpilot/internal/database"
)

// TypeLeadImportSweep enqueues again the runs of lead imports still
// queued a while after they were created: leadimports.Service.Create
// enqueues after its transaction commits, and an enqueue lost then (Redis
// down, the process killed) would leave the import queued for ever.
const TypeLeadImportSweep = "maintenance:lead_import_sweep"

// LeadImportSweepSchedule is how often the scheduler enqueues
// TypeLeadImportSweep.
const LeadImportSweepSchedule = "@every 1m"

// DefaultLeadImportSweepAge is how long an import may stay queued before
// the sweep enqueues its run again: well past the moment Create enqueues
// it, so the sweep rarely races a healthy enqueue (and a race is harmless:
// the task id dedupes).
const DefaultLeadImportSweepAge = time.Minute

// leadImportSweepLimit bounds one sweep; the next tick takes the rest.
const leadImportSweepLimit = 1000

// NewLeadImportSweepTask returns the sweep's tick, on the maintenance
// queue. Like every tick it has no TaskID (see NewScheduler).
func NewLeadImportSweepTask() *asynq.Task {
	return asynq.NewTask(TypeLeadImportSweep, []byte(`{}`),
		asynq.Queue(QueueMaintenance),
		asynq.MaxRetry(1),
		asynq.Timeout(time.Minute),
	)
}

// LeadImportEnqueuer enqueues the run of one import; *Enqueuer is one.
type LeadImportEnqueuer interface {
	EnqueueLeadImport(ctx context.Context, orgID, importID uuid.UUID) error
}

// LeadImportSweepConfig configures a LeadImportSweepHandler.
type LeadImportSweepConfig struct {
	// Age is how long an import stays queued before it is enqueued again.
	// Default DefaultLeadImportSweepAge.
	Age time.Duration
	// Logger receives one line per sweep that enqueued anything. Default
	// slog.Default().
	Logger *slog.Logger
}

// LeadImportSweepHandler processes TypeLeadImportSweep tasks. It is
// idempotent: EnqueueLeadImport gives each import's task the same id, so
// asynq refuses a second copy while the first is pending, running or
// retrying; and a run delivered twice is harmless anyway, since Run does
// nothing for a finished import and resumes a running one.
type LeadImportSweepHandler struct {
	db       *database.DB
	enqueuer LeadImportEnqueuer
	age      time.Duration
	logger   *slog.Logger
}

// NewLeadImportSweepHandler returns a handler that finds stale imports
// through db and enqueues their runs with enqueuer. db may run as the
// RLS-bound app role: the cross-organisation read happens inside
// maint_stale_lead_imports, a SECURITY DEFINER function the app role may
// execute, as the purge does.
func NewLeadImportSweepHandler(db *database.DB, enqueuer LeadImportEnqueuer, cfg LeadImportSweepConfig) *LeadImportSweepHandler {
	if enqueuer == nil {
		panic("jobs: NewLeadImportSweepHandler: enqueuer is nil")
	}
	h := &LeadImportSweepHandler{db: db, enqueuer: enqueuer, age: cfg.Age, logger: cfg.Logger}
	if h.age <= 0 {
		h.age = DefaultLeadImportSweepAge
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	return h
}

// ProcessTask enqueues the run of every import queued for longer than the
// handler's age. A failed enqueue fails the sweep (after trying the
// others), so it is retried; the next tick would catch up too.
func (h *LeadImportSweepHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	if err := decodePayload(t, &struct{}{}); err != nil {
		return err
	}
	rows, err := h.db.Pool.Query(ctx, `SELECT org_id, id FROM maint_stale_lead_imports($1, $2)`, h.age, leadImportSweepLimit)
	if err != nil {
		return fmt.Errorf("jobs: %s: %w", t.Type(), err)
	}
	type stale struct{ org, id uuid.UUID }
	var found []stale
	for rows.Next() {
		var s stale
		if err := rows.Scan(&s.org, &s.id); err != nil {
			rows.Close()
			return fmt.Errorf("jobs: %s: scan: %w", t.Type(), err)
		}
		found = append(found, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("jobs: %s: %w", t.Type(), err)
	}
	var errs []error
	for _, s := range found {
		if err := h.enqueuer.EnqueueLeadImport(ctx, s.org, s.id); err != nil {
			errs = append(errs, fmt.Errorf("import %s: %w", s.id, err))
		}
	}
	if len(found) > 0 {
		h.logger.InfoContext(ctx, "lead import sweep: enqueued queued imports again",
			slog.Int("found", len(found)), slog.Int("failed", len(errs)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("jobs: %s: %w", t.Type(), err)
	}
	return nil
}
