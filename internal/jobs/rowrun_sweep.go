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

// TypeRowRunSweep enqueues again the runs of rows (rowRun: lead imports,
// sequence generation runs) left unfinished a while after they were
// created. Their services enqueue after the creating transaction commits,
// and an enqueue lost then (Redis down, the process killed) would leave
// the row queued for ever; a task Redis lost later (Redis flushed or
// restarted without persistence) would leave it running for ever, and a
// running generation blocks the campaign's next one.
const TypeRowRunSweep = "maintenance:row_run_sweep"

// RowRunSweepSchedule is how often the scheduler enqueues TypeRowRunSweep.
const RowRunSweepSchedule = "@every 1m"

// DefaultRowRunSweepAge is how long a row may stay unfinished before the
// sweep enqueues its run again: well past the moment its service enqueues
// it, so the sweep rarely races a healthy enqueue (and a race is
// harmless: the task id dedupes).
const DefaultRowRunSweepAge = time.Minute

// rowRunSweepLimit bounds one sweep; the next tick takes the rest.
const rowRunSweepLimit = 1000

// NewRowRunSweepTask returns the sweep's tick, on the maintenance queue.
// Like every tick it has no TaskID (see NewScheduler).
func NewRowRunSweepTask() *asynq.Task {
	return asynq.NewTask(TypeRowRunSweep, []byte(`{}`),
		asynq.Queue(QueueMaintenance),
		asynq.MaxRetry(1),
		asynq.Timeout(time.Minute),
	)
}

// RowRunEnqueuer enqueues the run of one row of each kind; *Enqueuer is
// one.
type RowRunEnqueuer interface {
	EnqueueLeadImport(ctx context.Context, orgID, importID uuid.UUID) error
	EnqueueGeneration(ctx context.Context, orgID, generationID uuid.UUID) error
}

// RowRunSweepConfig configures a RowRunSweepHandler.
type RowRunSweepConfig struct {
	// Age is how long a row stays unfinished before its run is enqueued
	// again. Default DefaultRowRunSweepAge.
	Age time.Duration
	// Logger receives one line per sweep that enqueued anything. Default
	// slog.Default().
	Logger *slog.Logger
}

// RowRunSweepHandler processes TypeRowRunSweep tasks. It is idempotent:
// each row's task has one id (rowRun.enqueue), so asynq refuses a second
// copy while the first is pending, running or retrying — a row a worker is
// running now is left to it — and a run delivered twice is harmless
// anyway, since Run does nothing for a finished row and resumes an
// interrupted one.
type RowRunSweepHandler struct {
	db       *database.DB
	enqueuer RowRunEnqueuer
	age      time.Duration
	logger   *slog.Logger
}

// NewRowRunSweepHandler returns a handler that finds unfinished rows
// through db and enqueues their runs with enqueuer. db may run as the
// RLS-bound app role: the cross-organisation read happens inside
// maint_stale_row_runs, a SECURITY DEFINER function the app role may
// execute, as the purge does.
func NewRowRunSweepHandler(db *database.DB, enqueuer RowRunEnqueuer, cfg RowRunSweepConfig) *RowRunSweepHandler {
	if enqueuer == nil {
		panic("jobs: NewRowRunSweepHandler: enqueuer is nil")
	}
	h := &RowRunSweepHandler{db: db, enqueuer: enqueuer, age: cfg.Age, logger: cfg.Logger}
	if h.age <= 0 {
		h.age = DefaultRowRunSweepAge
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	return h
}

// ProcessTask enqueues the run of every row unfinished for longer than the
// handler's age. A failed enqueue fails the sweep (after trying the
// others), so it is retried; the next tick would catch up too.
func (h *RowRunSweepHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	if err := decodePayload(t, &struct{}{}); err != nil {
		return err
	}
	rows, err := h.db.Pool.Query(ctx, `SELECT kind, org_id, id FROM maint_stale_row_runs($1, $2)`, h.age, rowRunSweepLimit)
	if err != nil {
		return fmt.Errorf("jobs: %s: %w", t.Type(), err)
	}
	type stale struct {
		kind    string
		org, id uuid.UUID
	}
	var found []stale
	for rows.Next() {
		var s stale
		if err := rows.Scan(&s.kind, &s.org, &s.id); err != nil {
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
		var err error
		switch s.kind {
		case "lead_import":
			err = h.enqueuer.EnqueueLeadImport(ctx, s.org, s.id)
		case "sequence_generation":
			err = h.enqueuer.EnqueueGeneration(ctx, s.org, s.id)
		default:
			err = fmt.Errorf("unknown kind %q", s.kind)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", s.kind, s.id, err))
		}
	}
	if len(found) > 0 {
		h.logger.InfoContext(ctx, "row run sweep: enqueued unfinished runs again",
			slog.Int("found", len(found)), slog.Int("failed", len(errs)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("jobs: %s: %w", t.Type(), err)
	}
	return nil
}
