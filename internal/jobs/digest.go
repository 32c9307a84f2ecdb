package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/leadpilot/leadpilot/internal/notifications"
)

// TypeDailyDigest decides and mails the daily digests that are due: each
// member's once per local day, after 08:00 in their organisation's time
// zone (internal/notifications, Digester).
const TypeDailyDigest = "notifications:daily_digest"

// DailyDigestSchedule is when the scheduler enqueues TypeDailyDigest: at
// the top of every hour, so an organisation whose zone is a whole number
// of hours from UTC gets its digests at 08:00 (one at +05:30 at 08:30).
const DailyDigestSchedule = "0 * * * *"

// NewDailyDigestTask returns the digest's hourly tick, on the maintenance
// queue. Like every tick it has no TaskID (see NewScheduler). A run that
// failed for some members retries once; the next hour's tick tries them
// again anyway.
func NewDailyDigestTask() *asynq.Task {
	return asynq.NewTask(TypeDailyDigest, []byte(`{}`),
		asynq.Queue(QueueMaintenance),
		asynq.MaxRetry(1),
		asynq.Timeout(50*time.Minute),
	)
}

// DigestRunner runs the digests that are due; *notifications.Digester is
// one.
type DigestRunner interface {
	Run(ctx context.Context) (notifications.DigestRun, error)
}

// DailyDigestHandler processes TypeDailyDigest tasks. It is an idempotent
// sweep: each member's day is decided once, under a unique key, so a
// second tick (another scheduler, a retry) finds nothing due, and two at
// once send one digest.
type DailyDigestHandler struct {
	runner DigestRunner
	logger *slog.Logger
}

// NewDailyDigestHandler returns a handler that runs runner. logger (nil:
// slog.Default()) gets one line per run with the counts.
func NewDailyDigestHandler(runner DigestRunner, logger *slog.Logger) *DailyDigestHandler {
	if runner == nil {
		panic("jobs: NewDailyDigestHandler: runner is nil")
	}
	return &DailyDigestHandler{runner: runner, logger: orDefault(logger)}
}

// ProcessTask runs the due digests and logs what it did. Members whose
// digest failed fail the task (after the others were done), so it is
// retried.
func (h *DailyDigestHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	if err := decodePayload(t, &struct{}{}); err != nil {
		return err
	}
	run, err := h.runner.Run(ctx)
	if run.Due > 0 || err != nil {
		h.logger.InfoContext(ctx, "daily digests", slog.Int("due", run.Due), slog.Int("sent", run.Sent),
			slog.Int("empty", run.Empty), slog.Int("skipped", run.Skipped), slog.Int("failed", run.Failed))
	}
	if err != nil {
		return fmt.Errorf("jobs: %s: %w", t.Type(), err)
	}
	return nil
}
