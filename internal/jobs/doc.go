// Package jobs is LeadPilot's background work on asynq (Redis): the queues
// and their priorities, the task types and their payloads, the server, mux
// and periodic scheduler that `leadpilot worker` runs, and the Enqueuer the
// API uses.
//
// # Postgres and Redis: the write rule
//
// Postgres is the system of record; Redis only says "go and look at row X".
// A job therefore never depends on the two stores agreeing, and every
// producer and handler follows the same four rules:
//
//  1. Enqueue after the transaction commits, never inside it. Enqueued
//     inside, a worker can pick the task up before the commit is visible
//     (and find nothing), or the transaction can roll back after the task
//     is already in Redis (and act on a row that never existed).
//  2. Payloads carry ids, never snapshots of data. The row may change
//     between enqueue and processing (a campaign paused, a lead
//     unsubscribed); the handler must see what is true now.
//  3. Handlers re-read state and are idempotent. asynq delivers at least
//     once: a worker that dies after doing the work but before acking runs
//     the task again. Each handler makes a second run harmless, typically
//     with a conditional update that claims the row (`UPDATE … WHERE id = $1
//     AND status = 'queued'`), so the second delivery finds nothing to
//     claim.
//  4. One-off tasks whose duplicate would hurt (send message X) carry
//     asynq.TaskID, derived from the row id, so a retried API request cannot
//     enqueue them twice. A TaskID only dedupes while the task is still in
//     Redis, so it narrows duplicates but does not replace rule 3. Periodic
//     ticks never carry a TaskID: once a tick with a fixed id is archived,
//     every later enqueue of that id conflicts and the tick stops forever.
//
// In code:
//
//	err := db.InTenant(ctx, tenant, func(ctx context.Context, tx bun.Tx) error {
//		return messages.Queue(ctx, tx, id) // status = 'queued'
//	})
//	if err != nil {
//		return err
//	}
//	_, err = enqueuer.Enqueue(ctx, messages.NewSendTask(id), asynq.TaskID("message:send:"+id.String()))
//
// The cost of rule 1 is that a crash (or a Redis outage) between the commit
// and the enqueue loses the task while the row says it is waiting. Periodic
// sweeps repair that: a scheduler tick finds rows left in a waiting state
// past a grace period and enqueues them again, which rules 3 and 4 make
// safe. If a lost enqueue ever matters more than a sweep's delay, the
// upgrade path is a transactional outbox: write the task into an outbox
// table in the same transaction and let a relay move it to Redis.
//
// # Periodic work
//
// The scheduler (see NewScheduler) has no leader election: every running
// scheduler enqueues every tick. Tick handlers are therefore idempotent
// sweeps over the database ("purge what has expired", "enqueue what is
// due"), never "do the next unit of work", so two ticks cost a little
// duplicate reading and nothing else.
package jobs
