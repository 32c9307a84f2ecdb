package jobs

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// TypeSequenceGeneration runs one sequence generation (internal/sequences).
const TypeSequenceGeneration = "sequence_generation:run"

// sequenceGenerationRun is TypeSequenceGeneration's kind: payload
// {org_id, generation_id}, on the generate queue. Retries are many because
// a run resumes where it stopped: a retry costs only the calls that were in
// flight.
var sequenceGenerationRun = rowRun{typ: TypeSequenceGeneration, idKey: "generation_id", queue: QueueGenerate, maxRetry: 25, timeout: 6 * time.Hour}

// SequenceGenerationPayload is the payload of a TypeSequenceGeneration
// task: ids only.
type SequenceGenerationPayload struct {
	OrgID        uuid.UUID `json:"org_id"`
	GenerationID uuid.UUID `json:"generation_id"`
}

// NewSequenceGenerationTask returns the task that runs generation id of
// orgID, on the generate queue.
func NewSequenceGenerationTask(orgID, id uuid.UUID) (*asynq.Task, error) {
	return sequenceGenerationRun.task(orgID, id)
}

// EnqueueGeneration enqueues the run of a generation once; it satisfies
// sequences.Enqueuer.
func (e *Enqueuer) EnqueueGeneration(ctx context.Context, orgID, id uuid.UUID) error {
	return sequenceGenerationRun.enqueue(ctx, e, orgID, id)
}

// SequenceGenerationRunner runs a generation; *sequences.Generator is one.
type SequenceGenerationRunner = RowRunner

// SequenceGenerationHandler processes TypeSequenceGeneration tasks. It is
// idempotent because Run is: a finished run does nothing, an interrupted
// one resumes with its pending leads.
type SequenceGenerationHandler struct {
	runner RowRunner
}

// NewSequenceGenerationHandler returns a handler that runs generations with runner.
func NewSequenceGenerationHandler(runner RowRunner) *SequenceGenerationHandler {
	if runner == nil {
		panic("jobs: NewSequenceGenerationHandler: runner is nil")
	}
	return &SequenceGenerationHandler{runner: runner}
}

// ProcessTask runs the generation the payload names.
func (h *SequenceGenerationHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	return sequenceGenerationRun.process(ctx, h.runner, t)
}
