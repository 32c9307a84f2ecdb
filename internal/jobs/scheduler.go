package jobs

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
)

// PurgeSchedule is how often the scheduler enqueues TypePurge.
const PurgeSchedule = "@every 15m"

// NewScheduler returns a scheduler with LeadPilot's periodic tasks
// registered. location is the time zone cron specs are read in (nil: UTC);
// "@every" specs do not depend on it, nor does the daily digest's hourly
// one: each run reads every organisation's own zone.
// Start and stop it with Run.
//
// Every running scheduler enqueues every tick: asynq has no leader
// election, so two worker processes mean two purges every 15 minutes. That
// is why tick handlers are idempotent sweeps, and why ticks carry no
// asynq.TaskID (an archived tick with a fixed id would block that tick
// forever).
//
// The error is from registering a schedule, which only a bad cron spec in
// this file causes.
func NewScheduler(redisOpt asynq.RedisConnOpt, logger *slog.Logger, location *time.Location) (*asynq.Scheduler, error) {
	logger = orDefault(logger)
	if location == nil {
		location = time.UTC
	}
	s := asynq.NewScheduler(redisOpt, &asynq.SchedulerOpts{
		Location: location,
		Logger:   newAsynqLogger(logger),
		LogLevel: asynqLevel(logger),
		// asynq drops a tick it cannot enqueue without a word; the next
		// tick catches up, but the outage should show.
		PostEnqueueFunc: func(info *asynq.TaskInfo, err error) {
			if err != nil {
				logger.Error("scheduler could not enqueue a tick", slog.Any("error", err))
			}
		},
	})
	if _, err := s.Register(PurgeSchedule, NewPurgeTask()); err != nil {
		return nil, fmt.Errorf("jobs: schedule %s: %w", TypePurge, err)
	}
	if _, err := s.Register(RowRunSweepSchedule, NewRowRunSweepTask()); err != nil {
		return nil, fmt.Errorf("jobs: schedule %s: %w", TypeRowRunSweep, err)
	}
	if _, err := s.Register(EventsPruneSchedule, NewEventsPruneTask()); err != nil {
		return nil, fmt.Errorf("jobs: schedule %s: %w", TypeEventsPrune, err)
	}
	if _, err := s.Register(InboxSweepSchedule, NewInboxSweepTask()); err != nil {
		return nil, fmt.Errorf("jobs: schedule %s: %w", TypeInboxSweep, err)
	}
	if _, err := s.Register(DailyDigestSchedule, NewDailyDigestTask()); err != nil {
		return nil, fmt.Errorf("jobs: schedule %s: %w", TypeDailyDigest, err)
	}
	return s, nil
}
