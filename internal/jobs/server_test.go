package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/jobs"
)

func TestQueues(t *testing.T) {
	t.Parallel()

	t.Run("PutsSendingFirstAndMaintenanceLast", func(t *testing.T) {
		t.Parallel()
		q := jobs.Queues()
		require.Len(t, q, 8)
		for name, weight := range q {
			require.Positive(t, weight, name)
			require.LessOrEqual(t, weight, q[jobs.QueueSend], name)
			require.GreaterOrEqual(t, weight, q[jobs.QueueMaintenance], name)
		}
		require.Greater(t, q[jobs.QueueClassify], q[jobs.QueueScrape])
		require.Greater(t, q[jobs.QueueGenerate], q[jobs.QueueWebhooks])
	})

	t.Run("QueuesExceptLeavesOutTheNamedOnesAndKeepsTheRest", func(t *testing.T) {
		t.Parallel()
		q := jobs.QueuesExcept(jobs.QueueWebhooks)
		require.Len(t, q, 7)
		require.NotContains(t, q, jobs.QueueWebhooks)
		require.Equal(t, jobs.Queues()[jobs.QueueSend], q[jobs.QueueSend])
		require.Len(t, jobs.Queues(), 8, "Queues() itself is untouched")
	})
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.DiscardHandler)
	task := asynq.NewTask("test:panic", nil)

	t.Run("RecoveryTurnsAPanicIntoAnError", func(t *testing.T) {
		t.Parallel()
		h := jobs.Recovery(logger)(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
			panic("boom")
		}))
		var err error
		require.NotPanics(t, func() { err = h.ProcessTask(t.Context(), task) })
		require.ErrorContains(t, err, "boom")
		require.ErrorContains(t, err, "test:panic")
	})

	t.Run("RecoveryKeepsAPanickedErrorInTheChain", func(t *testing.T) {
		t.Parallel()
		h := jobs.Recovery(logger)(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
			panic(context.DeadlineExceeded)
		}))
		require.ErrorIs(t, h.ProcessTask(t.Context(), task), context.DeadlineExceeded)
	})

	t.Run("LoggingPassesTheHandlersErrorThrough", func(t *testing.T) {
		t.Parallel()
		want := errors.New("smtp: 421")
		h := jobs.Logging(logger)(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return want }))
		require.ErrorIs(t, h.ProcessTask(t.Context(), task), want)
	})
}

func TestRun(t *testing.T) {
	t.Parallel()

	t.Run("ReturnsAnErrorWhenRedisIsUnreachable", func(t *testing.T) {
		t.Parallel()
		opt := asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: time.Second}
		srv := jobs.NewServer(opt, jobs.Config{Logger: slog.New(slog.DiscardHandler)})
		err := jobs.Run(t.Context(), srv, asynq.NewServeMux(), nil)
		require.ErrorContains(t, err, "jobs: redis")
	})
}
