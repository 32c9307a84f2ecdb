package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/jobs"
)

func TestScheduler(t *testing.T) {
	t.Parallel()

	t.Run("RegistersThePurgeWithoutATaskIDAndRunStopsIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		sched, err := jobs.NewScheduler(b.redis, b.logger, nil)
		require.NoError(t, err)
		// A server on a queue of its own, so it does not take the other
		// tests' tasks.
		srv := asynq.NewServer(b.redis, asynq.Config{
			Queues: map[string]int{"test-scheduler-" + uuid.NewString(): 1},
			Logger: nopLogger{},
		})

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- jobs.Run(ctx, srv, asynq.NewServeMux(), sched) }()
		stop := sync.OnceValue(func() error {
			cancel()
			return <-done
		})
		t.Cleanup(func() { _ = stop() })

		purgeEntry := func() *asynq.SchedulerEntry {
			entries, err := b.inspector.SchedulerEntries()
			if err != nil {
				return nil
			}
			for _, e := range entries {
				if e.Task.Type() == jobs.TypePurge {
					return e
				}
			}
			return nil
		}
		// The scheduler publishes its entries on its heartbeat, every 10s.
		require.Eventually(t, func() bool { return purgeEntry() != nil }, 30*time.Second, 100*time.Millisecond)
		e := purgeEntry()
		require.Equal(t, jobs.PurgeSchedule, e.Spec)
		for _, o := range e.Opts {
			require.NotEqual(t, asynq.TaskIDOpt, o.Type(), "a periodic task with a fixed TaskID stops once archived")
		}
		entries, err := b.inspector.SchedulerEntries()
		require.NoError(t, err)
		var sweep *asynq.SchedulerEntry
		for _, e := range entries {
			if e.Task.Type() == jobs.TypeRowRunSweep {
				sweep = e
			}
		}
		require.NotNil(t, sweep, "the lead import sweep is registered too")
		require.Equal(t, jobs.RowRunSweepSchedule, sweep.Spec)
		for _, o := range sweep.Opts {
			require.NotEqual(t, asynq.TaskIDOpt, o.Type())
		}
		var digest *asynq.SchedulerEntry
		for _, e := range entries {
			if e.Task.Type() == jobs.TypeDailyDigest {
				digest = e
			}
		}
		require.NotNil(t, digest, "the daily digest is registered too")
		require.Equal(t, jobs.DailyDigestSchedule, digest.Spec)
		for _, o := range digest.Opts {
			require.NotEqual(t, asynq.TaskIDOpt, o.Type())
		}

		require.NoError(t, stop())
		require.Nil(t, purgeEntry(), "Run shuts the scheduler down, which withdraws its entries")
	})
}

// nopLogger silences asynq in tests that do not look at its output.
type nopLogger struct{}

func (nopLogger) Debug(...any) {}
func (nopLogger) Info(...any)  {}
func (nopLogger) Warn(...any)  {}
func (nopLogger) Error(...any) {}
func (nopLogger) Fatal(...any) {}
