package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// The inbox's tasks (internal/inbox): one mailbox's reply sync, one
// batch's classification, and the sweep that enqueues both.
const (
	// TypeIMAPSync syncs one mailbox.
	TypeIMAPSync = "imap_sync:mailbox"
	// TypeClassify classifies inbound messages of one organisation.
	TypeClassify = "classify:replies"
	// TypeInboxSweep enqueues the syncs that are due and the
	// classifications that were lost.
	TypeInboxSweep = "maintenance:inbox_sweep"
)

// InboxSweepSchedule is how often the scheduler enqueues TypeInboxSweep:
// with a mailbox synced every 30 s, a reply is noticed within a minute.
const InboxSweepSchedule = "@every 15s"

// inboxSweepLimit bounds one sweep's scans; the next tick takes the rest.
const inboxSweepLimit = 500

// classifyLostAfter is how long an inbound message may stay
// unclassified before the sweep enqueues its classification again: past
// the retries of its own task (with asynq's backoff, a task's first five
// attempts span about half an hour), so that a provider's outage does not
// have several tasks classify the same replies.
const classifyLostAfter = 30 * time.Minute

// IMAPSyncPayload is a TypeIMAPSync task's payload.
type IMAPSyncPayload struct {
	OrgID     uuid.UUID `json:"org_id"`
	AccountID uuid.UUID `json:"account_id"`
}

// ClassifyPayload is a TypeClassify task's payload.
type ClassifyPayload struct {
	OrgID uuid.UUID   `json:"org_id"`
	IDs   []uuid.UUID `json:"inbox_message_ids"`
}

// syncUnique is how long a mailbox's sync task refuses a twin: the
// sweep's ticks (15 s) enqueue one sync per mailbox, not four. Not a
// fixed task id: an archived task (a crash, a timeout) would keep its id
// and refuse every later sync of the mailbox for the archive's lifetime.
const syncUnique = time.Minute

// NewIMAPSyncTask returns the sync of account of org, on the imap_sync
// queue, unique for a minute (the mailbox's lease keeps two runs apart
// beyond that). No retries: a failed sync is recorded on the mailbox,
// which sets when the next one is due.
func NewIMAPSyncTask(org, account uuid.UUID) (*asynq.Task, error) {
	b, err := json.Marshal(IMAPSyncPayload{OrgID: org, AccountID: account})
	if err != nil {
		return nil, fmt.Errorf("jobs: %s payload: %w", TypeIMAPSync, err)
	}
	return asynq.NewTask(TypeIMAPSync, b, asynq.Queue(QueueIMAPSync), asynq.Unique(syncUnique),
		asynq.MaxRetry(0), asynq.Timeout(10*time.Minute)), nil
}

// NewClassifyTask returns the classification of ids of org, on the
// classify queue. Retried with backoff (a provider's rate limit);
// classifying twice changes nothing.
func NewClassifyTask(org uuid.UUID, ids []uuid.UUID) (*asynq.Task, error) {
	b, err := json.Marshal(ClassifyPayload{OrgID: org, IDs: ids})
	if err != nil {
		return nil, fmt.Errorf("jobs: %s payload: %w", TypeClassify, err)
	}
	return asynq.NewTask(TypeClassify, b, asynq.Queue(QueueClassify), asynq.MaxRetry(5), asynq.Timeout(10*time.Minute)), nil
}

// NewInboxSweepTask returns the sweep's tick, on the maintenance queue.
func NewInboxSweepTask() *asynq.Task {
	return asynq.NewTask(TypeInboxSweep, []byte(`{}`), asynq.Queue(QueueMaintenance), asynq.MaxRetry(1), asynq.Timeout(time.Minute))
}

// EnqueueIMAPSync enqueues a mailbox's sync unless one is queued or
// running.
func (e *Enqueuer) EnqueueIMAPSync(ctx context.Context, org, account uuid.UUID) error {
	task, err := NewIMAPSyncTask(org, account)
	if err != nil {
		return err
	}
	if _, err = e.Enqueue(ctx, task); errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	return err
}

// classifyBatch bounds the messages one classification task carries.
const classifyBatch = 100

// EnqueueClassify enqueues the classification of ids of org, a task per
// hundred; it satisfies inbox.Enqueuer.
func (e *Enqueuer) EnqueueClassify(ctx context.Context, org uuid.UUID, ids []uuid.UUID) error {
	for len(ids) > 0 {
		n := min(len(ids), classifyBatch)
		task, err := NewClassifyTask(org, ids[:n])
		if err != nil {
			return err
		}
		if _, err := e.Enqueue(ctx, task); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// InboxWork is the inbox as its tasks drive it; inbox.Worker is one.
type InboxWork interface {
	SyncMailbox(ctx context.Context, org, account uuid.UUID) error
	Classify(ctx context.Context, org uuid.UUID, ids []uuid.UUID) error
	DueMailboxes(ctx context.Context, limit int) ([][2]uuid.UUID, error)
	Unclassified(ctx context.Context, before time.Time, limit int) (map[uuid.UUID][]uuid.UUID, error)
}

// InboxEnqueuer enqueues the inbox's tasks; *Enqueuer is one.
type InboxEnqueuer interface {
	EnqueueIMAPSync(ctx context.Context, org, account uuid.UUID) error
	EnqueueClassify(ctx context.Context, org uuid.UUID, ids []uuid.UUID) error
}

// InboxHandler processes TypeIMAPSync, TypeClassify and TypeInboxSweep.
type InboxHandler struct {
	work   InboxWork
	enq    InboxEnqueuer
	logger *slog.Logger
	now    func() time.Time
}

// NewInboxHandler returns the inbox tasks' handler.
func NewInboxHandler(work InboxWork, enq InboxEnqueuer, logger *slog.Logger) *InboxHandler {
	if work == nil || enq == nil {
		panic("jobs: NewInboxHandler: work and enq are required")
	}
	return &InboxHandler{work: work, enq: enq, logger: orDefault(logger), now: time.Now}
}

// ProcessTask runs the task.
func (h *InboxHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	switch t.Type() {
	case TypeIMAPSync:
		var p IMAPSyncPayload
		if err := decodePayload(t, &p); err != nil {
			return err
		}
		if p.OrgID == uuid.Nil || p.AccountID == uuid.Nil {
			return fmt.Errorf("jobs: %s: org_id and account_id are required: %w", t.Type(), asynq.SkipRetry)
		}
		if err := h.work.SyncMailbox(ctx, p.OrgID, p.AccountID); err != nil {
			return fmt.Errorf("jobs: %s: %w", t.Type(), err)
		}
		return nil
	case TypeClassify:
		var p ClassifyPayload
		if err := decodePayload(t, &p); err != nil {
			return err
		}
		if p.OrgID == uuid.Nil || len(p.IDs) == 0 {
			return fmt.Errorf("jobs: %s: org_id and inbox_message_ids are required: %w", t.Type(), asynq.SkipRetry)
		}
		if err := h.work.Classify(ctx, p.OrgID, p.IDs); err != nil {
			return fmt.Errorf("jobs: %s: %w", t.Type(), err)
		}
		return nil
	case TypeInboxSweep:
		return h.sweep(ctx)
	}
	return fmt.Errorf("jobs: InboxHandler cannot run %s: %w", t.Type(), asynq.SkipRetry)
}

// sweep enqueues the syncs that are due and the classifications lost.
func (h *InboxHandler) sweep(ctx context.Context) error {
	due, err := h.work.DueMailboxes(ctx, inboxSweepLimit)
	if err != nil {
		return fmt.Errorf("jobs: %s: %w", TypeInboxSweep, err)
	}
	for _, d := range due {
		if err := h.enq.EnqueueIMAPSync(ctx, d[0], d[1]); err != nil {
			return fmt.Errorf("jobs: %s: enqueue sync: %w", TypeInboxSweep, err)
		}
	}
	lost, err := h.work.Unclassified(ctx, h.now().Add(-classifyLostAfter), inboxSweepLimit)
	if err != nil {
		return fmt.Errorf("jobs: %s: %w", TypeInboxSweep, err)
	}
	n := 0
	for org, ids := range lost {
		if err := h.enq.EnqueueClassify(ctx, org, ids); err != nil {
			return fmt.Errorf("jobs: %s: enqueue classification: %w", TypeInboxSweep, err)
		}
		n += len(ids)
	}
	if len(due) > 0 || n > 0 {
		h.logger.Debug("inbox sweep", "syncs", len(due), "reclassify", n)
	}
	return nil
}
