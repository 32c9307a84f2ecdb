package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
)

// Enqueuer puts tasks on Redis for the worker. It is what the API and the
// services hold; they never touch asynq.Client directly.
//
// Call Enqueue only after the database transaction that made the task
// necessary has committed, with a task whose payload carries ids only (see
// the package documentation): the handler re-reads the rows, and a lost
// enqueue is caught up by a periodic sweep.
type Enqueuer struct {
	client    *asynq.Client
	inspector *asynq.Inspector
}

// NewEnqueuer connects to the Redis that redisOpt names. Close it on
// shutdown.
func NewEnqueuer(redisOpt asynq.RedisConnOpt) *Enqueuer {
	return &Enqueuer{client: asynq.NewClient(redisOpt), inspector: asynq.NewInspector(redisOpt)}
}

// Enqueue puts task on its queue. opts override those the task was built
// with; pass asynq.TaskID for one-off work whose duplicate would hurt, never
// for periodic ticks.
//
// Errors wrap asynq's, so callers can branch with errors.Is: a TaskID that
// is already enqueued gives asynq.ErrTaskIDConflict, which for most callers
// means the work is already on its way.
func (e *Enqueuer) Enqueue(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	info, err := e.client.EnqueueContext(ctx, task, opts...)
	if err != nil {
		return nil, fmt.Errorf("jobs: enqueue %s: %w", task.Type(), err)
	}
	return info, nil
}

// Close closes the Redis connections.
func (e *Enqueuer) Close() error {
	return errors.Join(e.client.Close(), e.inspector.Close())
}
