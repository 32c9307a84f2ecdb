package webhookdelivery_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/webhookdelivery"
)

// recordingEnqueuer is the dispatcher's port, remembering what it was
// asked to enqueue.
type recordingEnqueuer struct {
	mu  sync.Mutex
	got map[uuid.UUID]uuid.UUID // endpoint → org
	n   map[uuid.UUID]int
}

func (r *recordingEnqueuer) EnqueueWebhookDelivery(_ context.Context, org, ep uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got, r.n = map[uuid.UUID]uuid.UUID{}, map[uuid.UUID]int{}
	}
	r.got[ep] = org
	r.n[ep]++
	return nil
}

func (r *recordingEnqueuer) count(ep uuid.UUID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[ep]
}

func (r *recordingEnqueuer) org(ep uuid.UUID) uuid.UUID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[ep]
}

func TestDispatcher(t *testing.T) {
	t.Parallel()

	t.Run("EnqueuesOnNotifyAndAfterReconnecting", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		org, _, _ := b.org()
		ep, _ := b.endpoint(org, "https://receiver.example/hook", endpointOpts{})
		enq := &recordingEnqueuer{}
		// Ticks only when woken: what arrives comes through LISTEN.
		d := webhookdelivery.NewDispatcher(b.db, enq, webhookdelivery.DispatcherConfig{Now: b.clock.Now, Interval: time.Hour, Logger: b.logger})
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		go func() { stopped <- d.Run(ctx) }()
		t.Cleanup(func() { cancel(); require.NoError(t, <-stopped) })
		<-d.Listening()

		b.record(org, 1)
		require.Eventually(t, func() bool { return enq.count(ep) >= 1 }, 30*time.Second, 5*time.Millisecond)
		require.Equal(t, org, enq.org(ep))

		// The listening connection dies (a failover, an idle timeout).
		require.Eventually(t, func() bool {
			var n int
			err := b.owner.Pool.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&n)
			return err == nil && n > 0
		}, 30*time.Second, 5*time.Millisecond)
		before := enq.count(ep)
		require.Eventually(t, func() bool {
			b.record(org, 1) // until the new connection hears one
			return enq.count(ep) > before
		}, 30*time.Second, 50*time.Millisecond)
	})

	t.Run("TickEnqueuesEndpointsWhoseRetriesAndLeasesComeDue", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		org, _, _ := b.org()
		retrying, _ := b.endpoint(org, "https://a.example/", endpointOpts{})
		leased, _ := b.endpoint(org, "https://b.example/", endpointOpts{})
		idle, _ := b.endpoint(org, "https://c.example/", endpointOpts{})
		b.record(org, 1)
		now := b.clock.Now()
		b.exec(`UPDATE webhook_messages SET next_attempt_at = $2 WHERE endpoint_id = $1`, retrying, now.Add(5*time.Minute))
		b.exec(`UPDATE webhook_messages SET status = 'sending', locked_until = $2 WHERE endpoint_id = $1`, leased, now.Add(time.Minute))
		b.exec(`UPDATE webhook_messages SET status = 'succeeded' WHERE endpoint_id = $1`, idle)
		enq := &recordingEnqueuer{}
		d := webhookdelivery.NewDispatcher(b.db, enq, webhookdelivery.DispatcherConfig{Now: b.clock.Now, Logger: b.logger})

		d.Tick(t.Context())
		for _, ep := range []uuid.UUID{retrying, leased, idle} {
			require.Zero(t, enq.count(ep))
		}
		b.clock.Advance(2 * time.Minute)
		d.Tick(t.Context())
		require.Equal(t, 1, enq.count(leased), "an expired lease is due")
		require.Zero(t, enq.count(retrying))
		b.clock.Advance(5 * time.Minute)
		d.Tick(t.Context())
		require.Equal(t, 1, enq.count(retrying))
		require.Zero(t, enq.count(idle))
	})
}
