package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/hibiken/asynq"
)

// Handlers are the task handlers the worker runs, one field per task type.
// Each is built by its own constructor with only what it uses; every field
// is required.
type Handlers struct {
	Purge          *PurgeHandler          // TypePurge
	LeadImport     *LeadImportHandler     // TypeLeadImport
	RowRunSweep    *RowRunSweepHandler    // TypeRowRunSweep
	WebhookDeliver *WebhookDeliverHandler // TypeWebhookDeliver
	EventsPrune    *EventsPruneHandler    // TypeEventsPrune
	// SequenceGeneration runs sequence generations (TypeSequenceGeneration).
	SequenceGeneration *SequenceGenerationHandler
	// Send sends message batches (TypeSend).
	Send *SendHandler
	// Inbox syncs mailboxes, classifies replies and sweeps
	// (TypeIMAPSync, TypeClassify, TypeInboxSweep).
	Inbox *InboxHandler
	// DailyDigest mails the daily digests that are due (TypeDailyDigest).
	DailyDigest *DailyDigestHandler
}

// NewMux routes each task type to its handler, wrapped in Logging (outside)
// and Recovery (inside, so the log line of an attempt that panicked shows
// the panic as its error). A nil field in h panics here, at boot, rather
// than at the first task of that type.
func NewMux(h *Handlers, logger *slog.Logger) *asynq.ServeMux {
	// A typed nil would get past asynq's own nil check and fail only at
	// the first task.
	if h == nil || h.Purge == nil {
		panic("jobs: NewMux: Handlers.Purge is nil")
	}
	if h.LeadImport == nil {
		panic("jobs: NewMux: Handlers.LeadImport is nil")
	}
	if h.RowRunSweep == nil {
		panic("jobs: NewMux: Handlers.RowRunSweep is nil")
	}
	if h.WebhookDeliver == nil {
		panic("jobs: NewMux: Handlers.WebhookDeliver is nil")
	}
	if h.EventsPrune == nil {
		panic("jobs: NewMux: Handlers.EventsPrune is nil")
	}
	if h.SequenceGeneration == nil {
		panic("jobs: NewMux: Handlers.SequenceGeneration is nil")
	}
	if h.Send == nil {
		panic("jobs: NewMux: Handlers.Send is nil")
	}
	if h.Inbox == nil {
		panic("jobs: NewMux: Handlers.Inbox is nil")
	}
	if h.DailyDigest == nil {
		panic("jobs: NewMux: Handlers.DailyDigest is nil")
	}
	logger = orDefault(logger)
	mux := asynq.NewServeMux()
	mux.Use(Logging(logger), Recovery(logger))
	// asynq falls back to prefix matching when no type matches exactly, so
	// a type name must never be a prefix of another (maintenance:purge vs
	// maintenance:purge_all) or one would reach the other's handler.
	mux.Handle(TypePurge, h.Purge)
	mux.Handle(TypeLeadImport, h.LeadImport)
	mux.Handle(TypeRowRunSweep, h.RowRunSweep)
	mux.Handle(TypeWebhookDeliver, h.WebhookDeliver)
	mux.Handle(TypeEventsPrune, h.EventsPrune)
	mux.Handle(TypeSequenceGeneration, h.SequenceGeneration)
	mux.Handle(TypeSend, h.Send)
	mux.Handle(TypeIMAPSync, h.Inbox)
	mux.Handle(TypeClassify, h.Inbox)
	mux.Handle(TypeInboxSweep, h.Inbox)
	mux.Handle(TypeDailyDigest, h.DailyDigest)
	return mux
}

// Logging logs one line per attempt: type, id, queue, retry count,
// duration and, when it failed, the error (at Warn; the server's error
// handler adds an Error line when asynq gives up).
func Logging(logger *slog.Logger) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			start := time.Now()
			err := next.ProcessTask(ctx, t)
			id, _ := asynq.GetTaskID(ctx)
			queue, _ := asynq.GetQueueName(ctx)
			retried, _ := asynq.GetRetryCount(ctx)
			attrs := []any{
				slog.String("type", t.Type()),
				slog.String("id", id),
				slog.String("queue", queue),
				slog.Int("retried", retried),
				slog.Duration("duration", time.Since(start)),
			}
			if err != nil {
				logger.WarnContext(ctx, "job failed", append(attrs, slog.Any("error", err))...)
				return err
			}
			logger.InfoContext(ctx, "job done", attrs...)
			return nil
		})
	}
}

// Recovery turns a panic in a handler into an error, logged with its stack,
// so the task is retried like any other failure and the worker goroutine
// survives. (asynq recovers too, but without our logger and with the
// stack only in its own log format.)
func Recovery(logger *slog.Logger) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) (err error) {
			defer func() {
				if r := recover(); r != nil {
					id, _ := asynq.GetTaskID(ctx)
					logger.ErrorContext(ctx, "job panicked",
						slog.String("type", t.Type()),
						slog.String("id", id),
						slog.Any("panic", r),
						slog.String("stack", string(debug.Stack())),
					)
					if e, ok := r.(error); ok {
						err = fmt.Errorf("jobs: %s panicked: %w", t.Type(), e)
					} else {
						err = fmt.Errorf("jobs: %s panicked: %v", t.Type(), r)
					}
				}
			}()
			return next.ProcessTask(ctx, t)
		})
	}
}
