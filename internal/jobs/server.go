package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/hibiken/asynq"
)

// Config configures NewServer.
type Config struct {
	// Concurrency is how many tasks one process works on at once. Default
	// 20: handlers wait on SMTP, IMAP, LLM and HTTP far more than they use
	// CPU, so asynq's default (the CPU count) would leave workers idle.
	Concurrency int
	// ShutdownTimeout is how long Shutdown waits for running tasks before
	// pushing them back to Redis. Default 30s, above the SMTP timeout, so a
	// send in flight finishes instead of being abandoned mid-conversation
	// (asynq's own default is 8s).
	ShutdownTimeout time.Duration
	// Logger receives asynq's own logs and one line per failed task that
	// will not be retried. Default slog.Default().
	Logger *slog.Logger
	// Queues are the queues the server takes tasks from, with their
	// weights. Default Queues(); a worker that gives webhook delivery its
	// own server passes QueuesExcept(QueueWebhooks) here and
	// {QueueWebhooks: 1} there.
	Queues map[string]int
}

// Defaults for Config.
const (
	DefaultConcurrency     = 20
	DefaultShutdownTimeout = 30 * time.Second
)

// NewServer returns an asynq server over cfg.Queues (default Queues()),
// weighted and not strict (see Queues). Start it with Run.
func NewServer(redisOpt asynq.RedisConnOpt, cfg Config) *asynq.Server {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if len(cfg.Queues) == 0 {
		cfg.Queues = Queues()
	}
	logger := orDefault(cfg.Logger)
	return asynq.NewServer(redisOpt, asynq.Config{
		Concurrency:     cfg.Concurrency,
		Queues:          cfg.Queues,
		StrictPriority:  false,
		ShutdownTimeout: cfg.ShutdownTimeout,
		ErrorHandler:    errorHandler(logger),
		Logger:          newAsynqLogger(logger),
		LogLevel:        asynqLevel(logger),
	})
}

// errorHandler logs the failures asynq gives up on: retries exhausted,
// asynq.SkipRetry (archived) or asynq.RevokeTask (dropped). Failures that
// will be retried are already logged once per attempt by the Logging
// middleware; this line is the one worth alerting on.
func errorHandler(logger *slog.Logger) asynq.ErrorHandlerFunc {
	return func(ctx context.Context, t *asynq.Task, err error) {
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		var msg string
		switch {
		case errors.Is(err, asynq.RevokeTask):
			msg = "job revoked"
		case errors.Is(err, asynq.SkipRetry):
			msg = "job archived without retry"
		case retried >= maxRetry:
			msg = "job archived after its last retry"
		default:
			return
		}
		id, _ := asynq.GetTaskID(ctx)
		queue, _ := asynq.GetQueueName(ctx)
		logger.ErrorContext(ctx, msg,
			slog.String("type", t.Type()),
			slog.String("id", id),
			slog.String("queue", queue),
			slog.Int("retried", retried),
			slog.Int("max_retry", maxRetry),
			slog.Any("error", err),
		)
	}
}

// Run runs the worker until ctx is done, for the binary's `worker` and
// `all` modes: it starts srv with handler and, when sched is not nil, the
// scheduler, then blocks. On cancellation it stops the scheduler first (no
// new ticks) and then shuts srv down, waiting up to its ShutdownTimeout for
// running tasks.
//
// It uses Start, not asynq's Run, because those install their own signal
// handling; the binary owns signals and cancels ctx. sched may be nil for
// extra worker processes that should not add their own ticks.
//
// Run returns an error if Redis is unreachable or a start fails, and nil
// after a shutdown that ctx asked for.
func Run(ctx context.Context, srv *asynq.Server, handler asynq.Handler, sched *asynq.Scheduler) error {
	// asynq's Start does not touch Redis; without this a wrong address
	// would only show as a stream of log lines.
	if err := srv.Ping(); err != nil {
		return fmt.Errorf("jobs: redis: %w", err)
	}
	if err := srv.Start(handler); err != nil {
		return fmt.Errorf("jobs: start server: %w", err)
	}
	if sched != nil {
		if err := sched.Start(); err != nil {
			srv.Shutdown()
			return fmt.Errorf("jobs: start scheduler: %w", err)
		}
	}
	<-ctx.Done()
	if sched != nil {
		sched.Shutdown()
	}
	srv.Shutdown()
	return nil
}

func orDefault(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// asynqLevel lets asynq's debug lines through only when the slog handler
// would print them, so asynq does not format lines just to have them
// dropped.
func asynqLevel(l *slog.Logger) asynq.LogLevel {
	if l.Enabled(context.Background(), slog.LevelDebug) {
		return asynq.DebugLevel
	}
	return asynq.InfoLevel
}

// asynqLogger adapts slog to asynq.Logger, so the server's and scheduler's
// lines come out in the same structured stream as everything else, tagged
// component=asynq.
type asynqLogger struct{ l *slog.Logger }

func newAsynqLogger(l *slog.Logger) asynqLogger {
	return asynqLogger{l: l.With(slog.String("component", "asynq"))}
}

func (a asynqLogger) Debug(args ...any) { a.log(slog.LevelDebug, args) }
func (a asynqLogger) Info(args ...any)  { a.log(slog.LevelInfo, args) }
func (a asynqLogger) Warn(args ...any)  { a.log(slog.LevelWarn, args) }
func (a asynqLogger) Error(args ...any) { a.log(slog.LevelError, args) }

// Fatal exits, as asynq.Logger's contract says it must; asynq v0.26 never
// calls it.
func (a asynqLogger) Fatal(args ...any) {
	a.log(slog.LevelError, args)
	os.Exit(1)
}

func (a asynqLogger) log(level slog.Level, args []any) {
	ctx := context.Background()
	if a.l.Enabled(ctx, level) {
		a.l.Log(ctx, level, fmt.Sprint(args...))
	}
}
