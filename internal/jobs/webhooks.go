package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/leadpilot/leadpilot/internal/webhookdelivery"
)

// TypeWebhookDeliver delivers one webhook endpoint's due messages
// (internal/webhookdelivery).
const TypeWebhookDeliver = "webhook:deliver"

// WebhookDeliverPayload is the payload of a TypeWebhookDeliver task.
type WebhookDeliverPayload struct {
	OrgID      uuid.UUID `json:"org_id"`
	EndpointID uuid.UUID `json:"endpoint_id"`
}

// WebhookDeliverTimeout is the task's timeout: above the engine's
// TaskTimeout (budget + request timeout + 30s) with the default budget
// and the longest WEBHOOK_TIMEOUT config accepts (20s + 5m + 30s), so
// asynq never cuts a batch's result write short. Deliver returns long
// before it in practice.
const WebhookDeliverTimeout = 6 * time.Minute

// NewWebhookDeliverTask returns the delivery task of an endpoint, on the
// webhooks queue. It is never retried by asynq: the messages' state is in
// Postgres, and the dispatcher enqueues the endpoint again within a
// second while anything is due (replacing a task asynq archived, see
// EnqueueWebhookDelivery).
func NewWebhookDeliverTask(orgID, endpointID uuid.UUID) (*asynq.Task, error) {
	b, err := json.Marshal(WebhookDeliverPayload{OrgID: orgID, EndpointID: endpointID})
	if err != nil {
		return nil, fmt.Errorf("jobs: %s payload: %w", TypeWebhookDeliver, err)
	}
	return asynq.NewTask(TypeWebhookDeliver, b,
		asynq.Queue(QueueWebhooks),
		asynq.MaxRetry(0),
		asynq.Timeout(WebhookDeliverTimeout),
	), nil
}

// WebhookDeliverTaskID is the TaskID of an endpoint's delivery task: one
// per endpoint queued or running at a time, which keeps its messages in
// order and its max_concurrency.
func WebhookDeliverTaskID(endpointID uuid.UUID) string {
	return TypeWebhookDeliver + ":" + endpointID.String()
}

// EnqueueWebhookDelivery enqueues an endpoint's delivery task unless one
// is already queued or running. It satisfies webhookdelivery.Enqueuer.
func (e *Enqueuer) EnqueueWebhookDelivery(ctx context.Context, orgID, endpointID uuid.UUID) error {
	task, err := NewWebhookDeliverTask(orgID, endpointID)
	if err != nil {
		return err
	}
	id := WebhookDeliverTaskID(endpointID)
	_, err = e.Enqueue(ctx, task, asynq.TaskID(id))
	if !errors.Is(err, asynq.ErrTaskIDConflict) {
		return err
	}
	// The id is taken. By a task queued, running or waiting to retry:
	// the endpoint's work is on its way. By an archived one, asynq's
	// answer to a worker killed mid-task (its lease expired) or a task
	// past its timeout: that one will never run, and would block the
	// endpoint's deliveries until asynq trims its archive (90 days), so
	// it is deleted and a fresh task enqueued.
	info, ierr := e.inspector.GetTaskInfo(QueueWebhooks, id)
	if ierr != nil || info.State != asynq.TaskStateArchived {
		return nil // gone meanwhile, or alive: the next tick looks again
	}
	if err := e.inspector.DeleteTask(QueueWebhooks, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		return fmt.Errorf("jobs: delete the archived %s: %w", id, err)
	}
	_, err = e.Enqueue(ctx, task, asynq.TaskID(id))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

var _ webhookdelivery.Enqueuer = (*Enqueuer)(nil)

// WebhookDeliverer delivers an endpoint's due messages;
// *webhookdelivery.Engine is one.
type WebhookDeliverer interface {
	Deliver(ctx context.Context, org, endpoint uuid.UUID) (webhookdelivery.Result, error)
}

// WebhookDeliverHandler processes TypeWebhookDeliver tasks.
type WebhookDeliverHandler struct {
	engine WebhookDeliverer
}

// NewWebhookDeliverHandler returns a handler that delivers with engine.
func NewWebhookDeliverHandler(engine WebhookDeliverer) *WebhookDeliverHandler {
	if engine == nil {
		panic("jobs: NewWebhookDeliverHandler: engine is nil")
	}
	return &WebhookDeliverHandler{engine: engine}
}

// ProcessTask delivers the endpoint's due messages. A failure (the
// database's, a timeout, a panic) revokes the task instead of retrying or
// archiving it: an archived task would keep the endpoint's TaskID and
// block its deliveries, while the dispatcher's next tick enqueues a fresh
// task for whatever is still due.
func (h *WebhookDeliverHandler) ProcessTask(ctx context.Context, t *asynq.Task) (err error) {
	var p WebhookDeliverPayload
	if err := decodePayload(t, &p); err != nil {
		return fmt.Errorf("%w: %w", err, asynq.RevokeTask)
	}
	if p.OrgID == uuid.Nil || p.EndpointID == uuid.Nil {
		return fmt.Errorf("jobs: %s: org_id and endpoint_id are required: %w", t.Type(), asynq.RevokeTask)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("jobs: %s panicked: %v: %w", t.Type(), r, asynq.RevokeTask)
		}
	}()
	if _, err := h.engine.Deliver(ctx, p.OrgID, p.EndpointID); err != nil {
		return fmt.Errorf("jobs: %s %s: %w: %w", t.Type(), p.EndpointID, err, asynq.RevokeTask)
	}
	return nil
}
