package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// TypeLeadImport runs one lead import (internal/leadimports).
const TypeLeadImport = "lead_import:run"

// LeadImportPayload is the payload of a TypeLeadImport task: ids only.
// The organisation is carried because the worker has no tenant of its own
// and the import row is behind row-level security.
type LeadImportPayload struct {
	OrgID    uuid.UUID `json:"org_id"`
	ImportID uuid.UUID `json:"import_id"`
}

// NewLeadImportTask returns the task that runs import importID of orgID,
// on the import queue.
func NewLeadImportTask(orgID, importID uuid.UUID) (*asynq.Task, error) {
	b, err := json.Marshal(LeadImportPayload{OrgID: orgID, ImportID: importID})
	if err != nil {
		return nil, fmt.Errorf("jobs: %s payload: %w", TypeLeadImport, err)
	}
	return asynq.NewTask(TypeLeadImport, b,
		asynq.Queue(QueueImport),
		asynq.MaxRetry(5),
		asynq.Timeout(2*time.Hour),
	), nil
}

// EnqueueLeadImport enqueues the run of an import once: a second call for
// the same import while the first task is kept is not an error. It
// satisfies leadimports.Enqueuer.
func (e *Enqueuer) EnqueueLeadImport(ctx context.Context, orgID, importID uuid.UUID) error {
	task, err := NewLeadImportTask(orgID, importID)
	if err != nil {
		return err
	}
	_, err = e.Enqueue(ctx, task, asynq.TaskID(TypeLeadImport+":"+importID.String()))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// LeadImportRunner runs an import; *leadimports.Service is one.
type LeadImportRunner interface {
	Run(ctx context.Context, orgID, importID uuid.UUID) error
}

// LeadImportHandler processes TypeLeadImport tasks. It is idempotent
// because Run is: a finished import does nothing, a running one resumes
// after its committed batches.
type LeadImportHandler struct {
	runner LeadImportRunner
}

// NewLeadImportHandler returns a handler that runs imports with runner.
func NewLeadImportHandler(runner LeadImportRunner) *LeadImportHandler {
	if runner == nil {
		panic("jobs: NewLeadImportHandler: runner is nil")
	}
	return &LeadImportHandler{runner: runner}
}

// ProcessTask runs the import the payload names.
func (h *LeadImportHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p LeadImportPayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	if p.OrgID == uuid.Nil || p.ImportID == uuid.Nil {
		return fmt.Errorf("jobs: %s: org_id and import_id are required: %w", t.Type(), asynq.SkipRetry)
	}
	if err := h.runner.Run(ctx, p.OrgID, p.ImportID); err != nil {
		return fmt.Errorf("jobs: %s %s: %w", t.Type(), p.ImportID, err)
	}
	return nil
}
