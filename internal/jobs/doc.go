// Package jobs is LeadPilot's background work on asynq (Redis): the queues
// and their priorities, the task types and their payloads, the server, mux
// and periodic scheduler that `leadpilot worker` runs, and the Enqueuer
// that satisfies the ports domain services declare to start background
// work (see Ports below).
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
// In code, from a domain service (rule 1: enqueue after the commit):
//
//	err := s.db.InTenant(ctx, tenant, func(ctx context.Context, tx bun.IDB) error {
//		return markQueued(ctx, tx, id) // status = 'queued'
//	})
//	if err != nil {
//		return err
//	}
//	return s.enqueuer.EnqueueImport(ctx, id)
//
// The cost of rule 1 is that a crash (or a Redis outage) between the commit
// and the enqueue loses the task while the row says it is waiting. Periodic
// sweeps repair that: a scheduler tick finds rows left in a waiting state
// past a grace period and enqueues them again, which rules 3 and 4 make
// safe. If a lost enqueue ever matters more than a sweep's delay, the
// upgrade path is a transactional outbox: write the task into an outbox
// table in the same transaction and let a relay move it to Redis.
//
// # Ports: domains never see asynq
//
// A domain package does not import asynq or this package, and does not
// build tasks (DESIGN.md: dependencies point from jobs to the domains,
// never back). It declares the small interface it needs, in its own words,
// next to the code that uses it:
//
//	// Enqueuer starts the background work of an import.
//	type Enqueuer interface {
//		EnqueueImport(ctx context.Context, importID uuid.UUID) error
//	}
//
// and takes it in its constructor. This package satisfies it with a method
// on *Enqueuer, which alone knows the task's type, queue, payload and
// TaskID, and turns "already enqueued" into success:
//
//	var _ imports.Enqueuer = (*Enqueuer)(nil)
//
//	func (e *Enqueuer) EnqueueImport(ctx context.Context, id uuid.UUID) error {
//		_, err := e.Enqueue(ctx, NewImportTask(id), asynq.TaskID("import:run:"+id.String()))
//		if errors.Is(err, asynq.ErrTaskIDConflict) {
//			return nil // already on its way
//		}
//		return err
//	}
//
// cmd wires the two (imports.NewService(db, enqueuer)); the domain's tests
// use a fake of their own port, and this package's tests the real thing
// against Redis. Ports toward adapters work the same way: sending declares
// the Sender that the mail and Twilio adapters satisfy, the inbox the
// Classifier that llm satisfies. Example (Ports) shows the whole shape; no
// domain needs a port yet, so it declares a stand-in one.
//
// # Periodic work
//
// The scheduler (see NewScheduler) has no leader election: every running
// scheduler enqueues every tick. Tick handlers are therefore idempotent
// sweeps over the database ("purge what has expired", "enqueue what is
// due"), never "do the next unit of work", so two ticks cost a little
// duplicate reading and nothing else.
package jobs
