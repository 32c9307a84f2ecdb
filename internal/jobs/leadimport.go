package jobs

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// TypeLeadImport runs one lead import (internal/leadimports).
const TypeLeadImport = "lead_import:run"

// leadImportRun is TypeLeadImport's kind: payload {org_id, import_id}, on
// the import queue.
var leadImportRun = rowRun{typ: TypeLeadImport, idKey: "import_id", queue: QueueImport, maxRetry: 5, timeout: 2 * time.Hour}

// LeadImportPayload is the payload of a TypeLeadImport task: ids only.
type LeadImportPayload struct {
	OrgID    uuid.UUID `json:"org_id"`
	ImportID uuid.UUID `json:"import_id"`
}

// NewLeadImportTask returns the task that runs import importID of orgID,
// on the import queue.
func NewLeadImportTask(orgID, importID uuid.UUID) (*asynq.Task, error) {
	return leadImportRun.task(orgID, importID)
}

// EnqueueLeadImport enqueues the run of an import once: a second call for
// the same import while the first task is kept is not an error. It
// satisfies leadimports.Enqueuer.
func (e *Enqueuer) EnqueueLeadImport(ctx context.Context, orgID, importID uuid.UUID) error {
	return leadImportRun.enqueue(ctx, e, orgID, importID)
}

// LeadImportRunner runs an import; *leadimports.Service is one.
type LeadImportRunner = RowRunner

// LeadImportHandler processes TypeLeadImport tasks. It is idempotent
// because Run is: a finished import does nothing, a running one resumes
// after its committed batches.
type LeadImportHandler struct {
	runner RowRunner
}

// NewLeadImportHandler returns a handler that runs imports with runner.
func NewLeadImportHandler(runner RowRunner) *LeadImportHandler {
	if runner == nil {
		panic("jobs: NewLeadImportHandler: runner is nil")
	}
	return &LeadImportHandler{runner: runner}
}

// ProcessTask runs the import the payload names.
func (h *LeadImportHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	return leadImportRun.process(ctx, h.runner, t)
}
