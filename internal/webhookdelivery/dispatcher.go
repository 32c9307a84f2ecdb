package webhookdelivery

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
)

// Enqueuer starts the delivery task of one endpoint (jobs.Enqueuer
// satisfies it). It must treat "already queued or running" as success:
// one task per endpoint at a time is what keeps its order.
type Enqueuer interface {
	EnqueueWebhookDelivery(ctx context.Context, org, endpoint uuid.UUID) error
}

// DispatcherConfig configures NewDispatcher.
type DispatcherConfig struct {
	// Now is the clock due times are compared with. Default time.Now.
	Now func() time.Time
	// Interval is how often the dispatcher asks which endpoints have
	// messages due (retries coming due, expired leases, lost
	// notifications). Default 1s.
	Interval time.Duration
	// Limit is how many endpoints one tick enqueues at most, the longest
	// waiting first. Default 1000.
	Limit int
	// Logger receives connection failures. Default slog.Default().
	Logger *slog.Logger
}

// Dispatcher turns "messages are due" into delivery tasks: it LISTENs on
// events.NotifyChannel (which events.Record notifies, on commit, with the
// endpoint's id) and ticks every Interval over webhook_due_endpoints, and
// enqueues each due endpoint's task. Every worker process may run one: the
// per-endpoint TaskID makes the enqueues of two dispatchers one task.
type Dispatcher struct {
	db     *database.DB
	enq    Enqueuer
	cfg    DispatcherConfig
	wake   chan struct{}
	mu     sync.Mutex
	orgOf  map[uuid.UUID]uuid.UUID // endpoint → org, learnt from ticks
	listen chan struct{}           // closed once LISTEN is in place (tests)
	once   sync.Once
}

// NewDispatcher returns a dispatcher reading through db (the app role:
// webhook_due_endpoints is SECURITY DEFINER) and enqueuing through enq.
func NewDispatcher(db *database.DB, enq Enqueuer, cfg DispatcherConfig) *Dispatcher {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Limit <= 0 {
		cfg.Limit = 1000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Dispatcher{db: db, enq: enq, cfg: cfg, wake: make(chan struct{}, 1),
		orgOf: map[uuid.UUID]uuid.UUID{}, listen: make(chan struct{})}
}

// Listening is closed once the dispatcher first LISTENs.
func (d *Dispatcher) Listening() <-chan struct{} { return d.listen }

// Run dispatches until ctx ends, then returns nil. Database and Redis
// failures are logged and retried; they never stop it.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.listenLoop(ctx)
	}()
	t := time.NewTicker(d.cfg.Interval)
	defer t.Stop()
	for {
		d.Tick(ctx)
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
		case <-d.wake:
		}
	}
}

// Tick enqueues the task of every endpoint with messages due now (up to
// Limit) and returns how many it enqueued or found already queued.
func (d *Dispatcher) Tick(ctx context.Context) int {
	rows, err := d.db.Pool.Query(ctx, `SELECT org_id, endpoint_id FROM webhook_due_endpoints($1, $2)`, d.cfg.Now(), d.cfg.Limit)
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.ErrorContext(ctx, "webhook dispatcher: due endpoints", slog.Any("error", err))
		}
		return 0
	}
	type due struct{ org, ep uuid.UUID }
	var list []due
	for rows.Next() {
		var x due
		if err := rows.Scan(&x.org, &x.ep); err != nil {
			rows.Close()
			d.cfg.Logger.ErrorContext(ctx, "webhook dispatcher: scan", slog.Any("error", err))
			return 0
		}
		list = append(list, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.ErrorContext(ctx, "webhook dispatcher: due endpoints", slog.Any("error", err))
		}
		return 0
	}
	n := 0
	d.mu.Lock()
	if len(d.orgOf) > 100_000 {
		clear(d.orgOf)
	}
	for _, x := range list {
		d.orgOf[x.ep] = x.org
	}
	d.mu.Unlock()
	for i, x := range list {
		if err := d.enq.EnqueueWebhookDelivery(ctx, x.org, x.ep); err != nil {
			// Redis is likely down: one line per tick, not one per
			// endpoint; the next tick tries them all again.
			if ctx.Err() == nil {
				d.cfg.Logger.ErrorContext(ctx, "webhook dispatcher: enqueue", slog.String("endpoint_id", x.ep.String()),
					slog.Int("not_enqueued", len(list)-i), slog.Any("error", err))
			}
			break
		}
		n++
	}
	return n
}

// notified handles one NOTIFY: an endpoint whose org the dispatcher knows
// is enqueued at once; otherwise the next tick is brought forward (the
// notification carries no org, and the task needs it).
func (d *Dispatcher) notified(ctx context.Context, payload string) {
	ep, err := uuid.Parse(payload)
	if err == nil {
		d.mu.Lock()
		org, ok := d.orgOf[ep]
		d.mu.Unlock()
		if ok {
			if err := d.enq.EnqueueWebhookDelivery(ctx, org, ep); err == nil {
				return
			}
		}
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// listenLoop keeps a LISTEN connection open, reconnecting with a backoff
// up to 30s; after every (re)connect it wakes a tick, for what was
// notified while it was away.
func (d *Dispatcher) listenLoop(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		started := time.Now()
		err := d.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = 100 * time.Millisecond // it had been working: retry soon
		}
		d.cfg.Logger.WarnContext(ctx, "webhook dispatcher: listen connection lost; reconnecting", slog.Any("error", err), slog.Duration("in", backoff))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (d *Dispatcher) listenOnce(ctx context.Context) error {
	pc, err := d.db.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	// A dedicated connection, out of the pool: LISTEN is per session.
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{events.NotifyChannel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	d.once.Do(func() { close(d.listen) })
	select {
	case d.wake <- struct{}{}:
	default:
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		d.notified(ctx, n.Payload)
	}
}
