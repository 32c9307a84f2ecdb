package jobs_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/leadpilot/leadpilot/internal/database"
	"github.com/leadpilot/leadpilot/internal/events"
	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/secrets"
	"github.com/leadpilot/leadpilot/internal/testkit"
	"github.com/leadpilot/leadpilot/internal/webhookdelivery"
)

func testKeyring(t *testing.T) *secrets.Keyring {
	t.Helper()
	key := make([]byte, 32)
	_, err := rand.Read(key)
	require.NoError(t, err)
	kr, err := secrets.NewKeyring(map[string][]byte{"k1": key}, "k1")
	require.NoError(t, err)
	return kr
}

// offsetClock is real time plus an offset the test moves forward.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func TestWebhookDelivery(t *testing.T) {
	t.Parallel()

	t.Run("TheDispatcherAndTheWorkerDeliverRecordedEventsAndTheirRetries", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		// Its own Redis database: the other tests' workers (with other
		// keyrings) must not take its tasks.
		testkit.Redis(t, 7)
		redisOpt, err := asynq.ParseRedisURI(testkit.RedisURL(t, 7))
		require.NoError(t, err)
		b.redis = redisOpt
		f := fixture{t: t, owner: b.owner}
		kr := testKeyring(t)
		clock := &offsetClock{}

		type got struct {
			header http.Header
			body   []byte
		}
		var mu sync.Mutex
		var deliveries []got
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			deliveries = append(deliveries, got{r.Header.Clone(), body})
			n := len(deliveries)
			mu.Unlock()
			if n == 2 { // the second event's first attempt fails
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusOK)
		}))
		t.Cleanup(recv.Close)
		count := func() int {
			mu.Lock()
			defer mu.Unlock()
			return len(deliveries)
		}

		org := f.org()
		ep := uuid.Must(uuid.NewV7())
		secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a-32-byte-test-secret-for-hmac!!"))
		enc, err := kr.EncryptString(secret, secrets.AAD("webhook_endpoints", "secret_encrypted", ep.String()))
		require.NoError(t, err)
		f.exec(`INSERT INTO webhook_endpoints (id, org_id, url, event_types, secret_encrypted, max_concurrency)
			VALUES ($1, $2, $3, '{lead.created}', $4, 1)`, ep, org, recv.URL, enc)

		engine := webhookdelivery.New(b.db, kr, webhookdelivery.Config{
			Now: clock.Now, AllowHTTP: true, Jitter: -1, Logger: b.logger,
			HTTP: webhookdelivery.ClientConfig{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		})
		h := handlers(t, b, jobs.NewPurgeHandler(b.db, jobs.PurgeConfig{Logger: b.logger}))
		h.WebhookDeliver = jobs.NewWebhookDeliverHandler(engine)
		// As the worker runs it: a pool of its own for the webhooks queue.
		srv := jobs.NewServer(b.redis, jobs.Config{Concurrency: 4, ShutdownTimeout: 5 * time.Second, Logger: b.logger,
			Queues: map[string]int{jobs.QueueWebhooks: 1}})
		require.NoError(t, srv.Start(jobs.NewMux(h, b.logger)))
		t.Cleanup(srv.Shutdown)

		enq := jobs.NewEnqueuer(b.redis)
		t.Cleanup(func() { _ = enq.Close() })
		d := webhookdelivery.NewDispatcher(b.db, enq, webhookdelivery.DispatcherConfig{Now: clock.Now, Interval: 50 * time.Millisecond, Logger: b.logger})
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			_ = d.Run(ctx)
		}()
		t.Cleanup(func() { cancel(); <-stopped })
		<-d.Listening()

		recordLead := func() uuid.UUID {
			var id uuid.UUID
			err := b.db.InTenant(t.Context(), database.Tenant{OrgID: org}, func(ctx context.Context, tx bun.IDB) error {
				var err error
				id, err = events.Record(ctx, tx, org, events.New{Type: events.LeadCreated, Data: map[string]any{"email": "a@example.com"}})
				return err
			})
			require.NoError(t, err)
			return id
		}

		first := recordLead()
		require.Eventually(t, func() bool { return count() == 1 }, 30*time.Second, 10*time.Millisecond, "the recorded event was not delivered")
		wh, err := standardwebhooks.NewWebhook(secret)
		require.NoError(t, err)
		mu.Lock()
		require.NoError(t, wh.Verify(deliveries[0].body, deliveries[0].header))
		require.Equal(t, first.String(), deliveries[0].header.Get("webhook-id"))
		mu.Unlock()

		second := recordLead()
		require.Eventually(t, func() bool { return count() == 2 }, 30*time.Second, 10*time.Millisecond)
		status := func() string {
			var s string
			require.NoError(t, b.owner.Pool.QueryRow(context.Background(),
				`SELECT status FROM webhook_messages WHERE endpoint_id = $1 AND event_id = $2`, ep, second).Scan(&s))
			return s
		}
		require.Eventually(t, func() bool { return status() == "pending" }, 30*time.Second, 10*time.Millisecond)
		// The retry comes due 5s later on the test's clock; the
		// dispatcher's tick finds it.
		clock.Advance(6 * time.Second)
		require.Eventually(t, func() bool { return count() == 3 }, 30*time.Second, 10*time.Millisecond, "the due retry was not delivered")
		require.Eventually(t, func() bool { return status() == "succeeded" }, 30*time.Second, 10*time.Millisecond)
		mu.Lock()
		require.Equal(t, second.String(), deliveries[2].header.Get("webhook-id"))
		mu.Unlock()
	})

	t.Run("OneTaskPerEndpointIsQueuedAtATime", func(t *testing.T) {
		t.Parallel()
		// A Redis database no worker of this package reads.
		testkit.Redis(t, 6)
		opt, err := asynq.ParseRedisURI(testkit.RedisURL(t, 6))
		require.NoError(t, err)
		enq := jobs.NewEnqueuer(opt)
		t.Cleanup(func() { _ = enq.Close() })
		insp := asynq.NewInspector(opt)
		t.Cleanup(func() { _ = insp.Close() })
		org, ep := uuid.New(), uuid.New()
		require.NoError(t, enq.EnqueueWebhookDelivery(t.Context(), org, ep))
		require.NoError(t, enq.EnqueueWebhookDelivery(t.Context(), org, ep), "already queued is not an error")
		info, err := insp.GetTaskInfo(jobs.QueueWebhooks, jobs.WebhookDeliverTaskID(ep))
		require.NoError(t, err)
		require.Equal(t, jobs.TypeWebhookDeliver, info.Type)
		require.Zero(t, info.MaxRetry, "asynq never retries it: the dispatcher re-enqueues what is due")
		tasks, err := insp.ListPendingTasks(jobs.QueueWebhooks, asynq.PageSize(1000))
		require.NoError(t, err)
		n := 0
		for _, task := range tasks {
			if task.ID == jobs.WebhookDeliverTaskID(ep) {
				n++
			}
		}
		require.Equal(t, 1, n, "one task for the endpoint")

		// A worker killed mid-task leaves it archived once its lease
		// expires (it has no retries): the next enqueue replaces it.
		require.NoError(t, insp.ArchiveTask(jobs.QueueWebhooks, jobs.WebhookDeliverTaskID(ep)))
		info, err = insp.GetTaskInfo(jobs.QueueWebhooks, jobs.WebhookDeliverTaskID(ep))
		require.NoError(t, err)
		require.Equal(t, asynq.TaskStateArchived, info.State)
		require.NoError(t, enq.EnqueueWebhookDelivery(t.Context(), org, ep))
		info, err = insp.GetTaskInfo(jobs.QueueWebhooks, jobs.WebhookDeliverTaskID(ep))
		require.NoError(t, err)
		require.Equal(t, asynq.TaskStatePending, info.State, "an archived task does not block the endpoint")
	})

	t.Run("RevokesATaskItCannotRunSoItsTaskIDIsFreed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		h := jobs.NewWebhookDeliverHandler(webhookdelivery.New(b.db, testKeyring(t), webhookdelivery.Config{Logger: b.logger}))
		for name, payload := range map[string]string{
			"NotJSON": `nope`, "UnknownField": `{"org_id":"` + uuid.NewString() + `","x":1}`, "MissingEndpoint": `{"org_id":"` + uuid.NewString() + `"}`,
		} {
			t.Run(name, func(t *testing.T) {
				err := h.ProcessTask(t.Context(), asynq.NewTask(jobs.TypeWebhookDeliver, []byte(payload)))
				require.ErrorIs(t, err, asynq.RevokeTask)
			})
		}
		// An endpoint that does not exist has nothing due: success.
		task, err := jobs.NewWebhookDeliverTask(uuid.New(), uuid.New())
		require.NoError(t, err)
		require.NoError(t, h.ProcessTask(t.Context(), task))
	})
}

func TestEventsPrune(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := fixture{t: t, owner: b.owner}
	org := f.org()
	now := time.Now()
	var old []uuid.UUID
	for i := range 5 {
		id := uuid.Must(uuid.NewV7())
		f.exec(`INSERT INTO events (id, org_id, type, object_type, data, occurred_at) VALUES ($1, $2, 'lead.created', 'lead', '{}', $3)`,
			id, org, now.Add(-31*24*time.Hour-time.Duration(i)*time.Minute))
		old = append(old, id)
	}
	recent := uuid.Must(uuid.NewV7())
	f.exec(`INSERT INTO events (id, org_id, type, object_type, data, occurred_at) VALUES ($1, $2, 'lead.created', 'lead', '{}', $3)`,
		recent, org, now.Add(-29*24*time.Hour))
	// An old event an endpoint is still to receive stays until its message
	// is done; one it received goes.
	ep := uuid.Must(uuid.NewV7())
	f.exec(`INSERT INTO webhook_endpoints (id, org_id, url, event_types, secret_encrypted) VALUES ($1, $2, 'https://example.com/h', '{*}', 'x')`, ep, org)
	live, done := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	for _, id := range []uuid.UUID{live, done} {
		f.exec(`INSERT INTO events (id, org_id, type, object_type, data, occurred_at) VALUES ($1, $2, 'lead.created', 'lead', '{}', $3)`,
			id, org, now.Add(-40*24*time.Hour))
	}
	f.exec(`INSERT INTO webhook_messages (org_id, endpoint_id, event_id, status) VALUES ($1, $2, $3, 'pending'), ($1, $2, $4, 'succeeded')`, org, ep, live, done)
	old = append(old, done)

	h := jobs.NewEventsPruneHandler(b.db, jobs.EventsPruneConfig{Batch: 2, Logger: b.logger})
	require.NoError(t, h.ProcessTask(t.Context(), jobs.NewEventsPruneTask()))
	for _, id := range old {
		require.False(t, f.exists("events", "id", id), "older than the 30-day retention")
	}
	require.True(t, f.exists("events", "id", recent))
	require.True(t, f.exists("events", "id", live), "an event whose delivery is still under way is kept")
	// A second run finds nothing.
	require.NoError(t, h.ProcessTask(t.Context(), jobs.NewEventsPruneTask()))
	require.True(t, f.exists("events", "id", recent))
}
