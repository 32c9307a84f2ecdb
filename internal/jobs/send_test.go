package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/emailsend"
	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/smtptest"
)

// plainSMTP points every account at the test server, without TLS.
type plainSMTP struct{ srv *smtptest.Server }

func (p plainSMTP) EmailTransport(context.Context, uuid.UUID, uuid.UUID) (sending.EmailTransport, error) {
	return sending.EmailTransport{SMTP: emailsend.Account{Host: p.srv.Host, Port: p.srv.Port, TLS: emailsend.TLSNone}}, nil
}

func (plainSMTP) SandboxDeliver(context.Context, uuid.UUID, uuid.UUID, []byte) error {
	return fmt.Errorf("no sandbox here")
}

// TestSendTasksLostInRedisStillGoOutOnceFromPostgres runs the real worker
// (asynq on Redis) with the sending engine: the dispatcher's tasks are
// lost from Redis twice — before any ran, and again midway through the
// campaign (step 2's) — and everything still goes out exactly once,
// because the messages' state lives in Postgres and the dispatcher hands
// out again what is dispatched but still not sent.
func TestSendTasksLostInRedisStillGoOutOnceFromPostgres(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	f := fixture{t: t, owner: b.owner}
	org := f.org()
	a := access.Actor{OrgID: org, Role: access.RoleMember}
	srv := smtptest.Start(t, smtptest.Options{})

	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	enq := jobs.NewEnqueuer(b.redis)
	t.Cleanup(func() { _ = enq.Close() })
	pool := emailsend.NewPool(emailsend.PoolOptions{})
	t.Cleanup(func() { _ = pool.Close() })
	engine := sending.New(b.db, map[string]sending.Channel{"email": sending.EmailChannel{Pool: pool, Transports: plainSMTP{srv}}}, enq, nil,
		sending.Options{Now: clock, RequeueAfter: 300 * time.Millisecond, MinGap: -1, RecipientDomainDaily: -1, Logger: b.logger})
	camps := campaigns.NewService(b.db)
	camps.OnTransition(engine.OnTransition)

	all := []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	c, err := camps.Create(ctx, a, campaigns.Create{Name: "Lost", Source: "manual", Settings: campaigns.SettingsPatch{
		SequenceLength: ptr(2), DelayBetweenStepsDays: &[]int{0, 1}, SendWindowStart: ptr("00:00"), SendWindowEnd: ptr("23:59"),
		SendDays: &all, Timezone: ptr("UTC")}})
	require.NoError(t, err)
	account := uuid.Must(uuid.NewV7())
	f.exec(`INSERT INTO email_accounts (id, org_id, email_address, provider, daily_send_limit, warmup_enabled) VALUES ($1, $2, 'sam@lost.test', 'custom', 1000, false)`, account, org)
	f.exec(`INSERT INTO campaign_email_accounts (org_id, campaign_id, email_account_id) VALUES ($1, $2, $3)`, org, c.ID, account)
	const n = 40
	for i := range n {
		lead := uuid.Must(uuid.NewV7())
		f.exec(`INSERT INTO leads (id, org_id, campaign_id, email, first_name, is_approved) VALUES ($1, $2, $3, $4, 'Ana', true)`,
			lead, org, c.ID, fmt.Sprintf("l%02d@lost.test", i))
		f.exec(`INSERT INTO sequences (id, org_id, campaign_id, lead_id, steps, is_approved) VALUES ($1, $2, $3, $4, $5, true)`,
			uuid.Must(uuid.NewV7()), org, c.ID, lead,
			`[{"step":1,"delay_days":0,"channel":"email","subject":"Hi","body":"Hello"},{"step":2,"delay_days":1,"channel":"email","body":"Again"}]`)
	}
	_, err = camps.Transition(ctx, a, c.ID, campaigns.ActionActivate)
	require.NoError(t, err)

	lose := func() {
		t.Helper()
		_, err := b.inspector.DeleteAllPendingTasks(jobs.QueueSend)
		require.NoError(t, err)
	}
	sent := func(step int) int {
		var k int
		require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE campaign_id = $1 AND step = $2 AND status = 'sent'`, c.ID, step).Scan(&k))
		return k
	}

	// Step 1 is dispatched, and Redis loses the tasks before a worker
	// takes them.
	advance(24 * time.Hour)
	dispatched, err := engine.Dispatch(ctx)
	require.NoError(t, err)
	require.Equal(t, n, dispatched)
	lose()

	srv2 := jobs.NewServer(b.redis, jobs.Config{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Logger: b.logger,
		Queues: map[string]int{jobs.QueueSend: 1}})
	h := handlers(t, b, jobs.NewPurgeHandler(b.db, jobs.PurgeConfig{Logger: b.logger}))
	h.Send = jobs.NewSendHandler(engine)
	require.NoError(t, srv2.Start(jobs.NewMux(h, b.logger)))
	t.Cleanup(srv2.Shutdown)

	require.Eventually(t, func() bool {
		require.NoError(t, engine.Tick(ctx))
		return sent(1) == n
	}, 30*time.Second, 100*time.Millisecond, "step 1 after its tasks were lost")

	// A day on, step 2 is dispatched and lost again, midway through the
	// campaign.
	advance(48 * time.Hour)
	srv2.Shutdown() // the worker is down while Redis loses the tasks
	dispatched, err = engine.Dispatch(ctx)
	require.NoError(t, err)
	require.Equal(t, n, dispatched)
	lose()
	srv3 := jobs.NewServer(b.redis, jobs.Config{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Logger: b.logger,
		Queues: map[string]int{jobs.QueueSend: 1}})
	require.NoError(t, srv3.Start(jobs.NewMux(h, b.logger)))
	t.Cleanup(srv3.Shutdown)
	require.Eventually(t, func() bool {
		require.NoError(t, engine.Tick(ctx))
		return sent(2) == n
	}, 30*time.Second, 100*time.Millisecond, "step 2 after its tasks were lost")

	got := map[string]int{}
	for _, m := range srv.Messages() {
		got[m.Header().Get("X-Leadpilot-Message-Id")]++
	}
	require.Len(t, got, 2*n, "every message reached the server")
	for id, k := range got {
		require.Equal(t, 1, k, "message %s reached the server %d times", id, k)
	}
}
