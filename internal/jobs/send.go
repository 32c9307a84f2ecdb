package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// TypeSend sends one batch of messages of one account
// (internal/sending: the dispatcher enqueues it, SendBatch runs it).
const TypeSend = "send:batch"

// SendPayload is a TypeSend task's payload: ids only.
type SendPayload struct {
	OrgID     uuid.UUID   `json:"org_id"`
	AccountID uuid.UUID   `json:"account_id"`
	IDs       []uuid.UUID `json:"message_ids"`
}

// NewSendTask returns the task that sends messages ids of account in org,
// on the send queue. It has no task id: the send's claim (scheduled and
// due → sending, conditional) is what makes a second delivery send
// nothing. Few retries: a failed attempt leaves its messages scheduled and
// stamped dispatched, and the dispatcher enqueues them again.
func NewSendTask(org, account uuid.UUID, ids []uuid.UUID) (*asynq.Task, error) {
	b, err := json.Marshal(SendPayload{OrgID: org, AccountID: account, IDs: ids})
	if err != nil {
		return nil, fmt.Errorf("jobs: %s payload: %w", TypeSend, err)
	}
	return asynq.NewTask(TypeSend, b, asynq.Queue(QueueSend), asynq.MaxRetry(3), asynq.Timeout(5*time.Minute)), nil
}

// EnqueueSend enqueues one send batch; it satisfies sending.Enqueuer.
func (e *Enqueuer) EnqueueSend(ctx context.Context, org, account uuid.UUID, ids []uuid.UUID) error {
	task, err := NewSendTask(org, account, ids)
	if err != nil {
		return err
	}
	_, err = e.Enqueue(ctx, task)
	return err
}

// Sender sends a batch; *sending.Engine is one.
type Sender interface {
	SendBatch(ctx context.Context, org, account uuid.UUID, ids []uuid.UUID) error
}

// SendHandler processes TypeSend tasks.
type SendHandler struct{ sender Sender }

// NewSendHandler returns a handler that sends with sender.
func NewSendHandler(sender Sender) *SendHandler {
	if sender == nil {
		panic("jobs: NewSendHandler: sender is nil")
	}
	return &SendHandler{sender: sender}
}

// ProcessTask sends the batch the payload names.
func (h *SendHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p SendPayload
	if err := decodePayload(t, &p); err != nil {
		return err
	}
	if p.OrgID == uuid.Nil || len(p.IDs) == 0 {
		return fmt.Errorf("jobs: %s: org_id and message_ids are required: %w", t.Type(), asynq.SkipRetry)
	}
	if err := h.sender.SendBatch(ctx, p.OrgID, p.AccountID, p.IDs); err != nil {
		return fmt.Errorf("jobs: %s: %w", t.Type(), err)
	}
	return nil
}
