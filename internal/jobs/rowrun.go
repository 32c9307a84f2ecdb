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

// rowRun is a kind of task that runs one row of an organisation's work by
// its id: a lead import, a sequence generation run. The payload carries
// ids only (the organisation, because the worker has no tenant of its own
// and the row is behind row-level security); one task per row is kept at a
// time (its TaskID); and the handler calls the domain's Run, which is
// idempotent: a finished row does nothing, an interrupted one resumes.
type rowRun struct {
	typ      string        // the task type
	idKey    string        // the payload key of the row's id
	queue    string        // the queue
	maxRetry int           // asynq retries
	timeout  time.Duration // one attempt's limit
}

// RowRunner runs one row of an organisation's work by id;
// *leadimports.Service and *sequences.Generator are ones.
type RowRunner interface {
	Run(ctx context.Context, orgID, id uuid.UUID) error
}

func (k rowRun) task(orgID, id uuid.UUID) (*asynq.Task, error) {
	b, err := json.Marshal(map[string]uuid.UUID{"org_id": orgID, k.idKey: id})
	if err != nil {
		return nil, fmt.Errorf("jobs: %s payload: %w", k.typ, err)
	}
	return asynq.NewTask(k.typ, b, asynq.Queue(k.queue), asynq.MaxRetry(k.maxRetry), asynq.Timeout(k.timeout)), nil
}

// enqueue puts the row's task on its queue once: a second call while the
// first task is kept is not an error.
func (k rowRun) enqueue(ctx context.Context, e *Enqueuer, orgID, id uuid.UUID) error {
	task, err := k.task(orgID, id)
	if err != nil {
		return err
	}
	_, err = e.Enqueue(ctx, task, asynq.TaskID(k.typ+":"+id.String()))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// process runs the row the task's payload names with runner.
func (k rowRun) process(ctx context.Context, runner RowRunner, t *asynq.Task) error {
	var p map[string]uuid.UUID
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	org, id := p["org_id"], p[k.idKey]
	if org == uuid.Nil || id == uuid.Nil {
		return fmt.Errorf("jobs: %s: org_id and %s are required: %w", t.Type(), k.idKey, asynq.SkipRetry)
	}
	if err := runner.Run(ctx, org, id); err != nil {
		return fmt.Errorf("jobs: %s %s: %w", t.Type(), id, err)
	}
	return nil
}
