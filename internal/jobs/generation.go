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

// TypeSequenceGeneration runs one sequence generation (internal/sequences).
const TypeSequenceGeneration = "sequence_generation:run"

// SequenceGenerationPayload is the payload of a TypeSequenceGeneration
// task: ids only, the organisation because the run is behind row-level
// security.
type SequenceGenerationPayload struct {
	OrgID        uuid.UUID `json:"org_id"`
	GenerationID uuid.UUID `json:"generation_id"`
}

// NewSequenceGenerationTask returns the task that runs generation id of
// orgID, on the generate queue. Retries are many because a run resumes
// where it stopped: a retry costs only the calls that were in flight.
func NewSequenceGenerationTask(orgID, id uuid.UUID) (*asynq.Task, error) {
	b, err := json.Marshal(SequenceGenerationPayload{OrgID: orgID, GenerationID: id})
	if err != nil {
		return nil, fmt.Errorf("jobs: %s payload: %w", TypeSequenceGeneration, err)
	}
	return asynq.NewTask(TypeSequenceGeneration, b,
		asynq.Queue(QueueGenerate),
		asynq.MaxRetry(25),
		asynq.Timeout(6*time.Hour),
	), nil
}

// EnqueueGeneration enqueues the run of a generation once; it satisfies
// sequences.Enqueuer.
func (e *Enqueuer) EnqueueGeneration(ctx context.Context, orgID, id uuid.UUID) error {
	task, err := NewSequenceGenerationTask(orgID, id)
	if err != nil {
		return err
	}
	_, err = e.Enqueue(ctx, task, asynq.TaskID(TypeSequenceGeneration+":"+id.String()))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// SequenceGenerationRunner runs a generation; *sequences.Generator is one.
type SequenceGenerationRunner interface {
	Run(ctx context.Context, orgID, generationID uuid.UUID) error
}

// SequenceGenerationHandler processes TypeSequenceGeneration tasks. It is
// idempotent because Run is: a finished run does nothing, an interrupted
// one resumes with its pending leads.
type SequenceGenerationHandler struct {
	runner SequenceGenerationRunner
}

// NewSequenceGenerationHandler returns a handler that runs generations with runner.
func NewSequenceGenerationHandler(runner SequenceGenerationRunner) *SequenceGenerationHandler {
	if runner == nil {
		panic("jobs: NewSequenceGenerationHandler: runner is nil")
	}
	return &SequenceGenerationHandler{runner: runner}
}

// ProcessTask runs the generation the payload names.
func (h *SequenceGenerationHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p SequenceGenerationPayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	if p.OrgID == uuid.Nil || p.GenerationID == uuid.Nil {
		return fmt.Errorf("jobs: %s: org_id and generation_id are required: %w", t.Type(), asynq.SkipRetry)
	}
	if err := h.runner.Run(ctx, p.OrgID, p.GenerationID); err != nil {
		return fmt.Errorf("jobs: %s %s: %w", t.Type(), p.GenerationID, err)
	}
	return nil
}
