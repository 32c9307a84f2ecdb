package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/campaigns"
	"github.com/leadpilot/leadpilot/internal/inbox"
	"github.com/leadpilot/leadpilot/internal/jobs"
	"github.com/leadpilot/leadpilot/internal/leadimports"
	"github.com/leadpilot/leadpilot/internal/leads"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/llmsettings"
	"github.com/leadpilot/leadpilot/internal/mailer"
	"github.com/leadpilot/leadpilot/internal/notifications"
	"github.com/leadpilot/leadpilot/internal/sending"
	"github.com/leadpilot/leadpilot/internal/sequences"
	"github.com/leadpilot/leadpilot/internal/webhookdelivery"
)

// handlers is the worker's full set, with purge as given.
func handlers(t *testing.T, b bundle, purge *jobs.PurgeHandler) *jobs.Handlers {
	enq := jobs.NewEnqueuer(b.redis)
	t.Cleanup(func() { _ = enq.Close() })
	return &jobs.Handlers{
		Purge:          purge,
		LeadImport:     jobs.NewLeadImportHandler(leadimports.NewService(b.db, nil)),
		RowRunSweep:    jobs.NewRowRunSweepHandler(b.db, enq, jobs.RowRunSweepConfig{Logger: b.logger}),
		WebhookDeliver: jobs.NewWebhookDeliverHandler(webhookdelivery.New(b.db, testKeyring(t), webhookdelivery.Config{Logger: b.logger})),
		EventsPrune:    jobs.NewEventsPruneHandler(b.db, jobs.EventsPruneConfig{Logger: b.logger}),
		SequenceGeneration: jobs.NewSequenceGenerationHandler(sequences.NewGenerator(b.db,
			sequences.ProvidersFrom(llmsettings.NewService(b.db, testKeyring(t), llmfactory.Platform{}, b.logger)), enq, sequences.GeneratorOptions{Logger: b.logger})),
		Send:  jobs.NewSendHandler(sending.New(b.db, nil, enq, nil, sending.Options{Logger: b.logger})),
		Inbox: jobs.NewInboxHandler(inbox.Worker{Service: inbox.NewService(b.db, nil, nil, enq, inbox.Options{})}, enq, b.logger),
		DailyDigest: jobs.NewDailyDigestHandler(notifications.NewDigester(b.db, mailer.NewCatcher(10, nil),
			notifications.DigestOptions{AppURL: "http://localhost:8080", Logger: b.logger}), b.logger),
	}
}

// lostEnqueuer is Redis refusing: the enqueue is lost.
type lostEnqueuer struct{}

func (lostEnqueuer) EnqueueGeneration(context.Context, uuid.UUID, uuid.UUID) error {
	return errors.New("redis: connection refused")
}

func (lostEnqueuer) EnqueueLeadImport(context.Context, uuid.UUID, uuid.UUID) error {
	return errors.New("redis: connection refused")
}

// recordingEnqueuer remembers the rows it was asked to enqueue.
type recordingEnqueuer struct {
	mu  sync.Mutex
	ids map[uuid.UUID]bool
	err error
}

func (r *recordingEnqueuer) EnqueueGeneration(ctx context.Context, org, id uuid.UUID) error {
	return r.EnqueueLeadImport(ctx, org, id)
}

func (r *recordingEnqueuer) EnqueueLeadImport(_ context.Context, _, id uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[uuid.UUID]bool{}
	}
	r.ids[id] = true
	return r.err
}

// lostImport creates an import in a new organisation whose enqueue is
// lost, created age ago.
func lostImport(t *testing.T, b bundle, age time.Duration) (access.Actor, uuid.UUID) {
	t.Helper()
	f := fixture{t: t, owner: b.owner}
	a := access.Actor{OrgID: f.org(), Role: access.RoleMember}
	imp, err := leadimports.NewService(b.db, lostEnqueuer{}).Create(context.Background(), a, nil, nil, "lost.csv",
		strings.NewReader("Email,First Name\nada@example.com,Ada\nbob@example.com,Bob\n"))
	require.NoError(t, err)
	f.exec(`UPDATE lead_imports SET created_at = now() - $2::interval WHERE id = $1`, imp.ID, age.String())
	return a, imp.ID
}

func TestRowRunSweep(t *testing.T) {
	t.Parallel()

	t.Run("AGenerationRunningWhenRedisLostItsTaskIsRunAgainAndCompletes", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		f := fixture{t: t, owner: b.owner}
		a := access.Actor{OrgID: f.org(), Role: access.RoleMember}
		camp, err := campaigns.NewService(b.db).Create(t.Context(), a, campaigns.Create{Name: "Swept", Source: "manual"})
		require.NoError(t, err)
		for _, e := range []string{"ada@example.com", "bob@example.com", "cy@example.com"} {
			_, err := leads.NewService(b.db).Create(t.Context(), a, leads.Create{CampaignID: &camp.ID, IsApproved: ptr(true), Fields: leads.Fields{Email: ptr(e), FirstName: ptr("Sam")}})
			require.NoError(t, err)
		}
		gen := sequences.NewGenerator(b.db, sequences.ProvidersFrom(llmsettings.NewService(b.db, testKeyring(t), llmfactory.Platform{}, b.logger)),
			&recordingEnqueuer{}, sequences.GeneratorOptions{Logger: b.logger})
		run, err := gen.Start(t.Context(), a, camp.ID, ptr("A short note offering a demo of our invoicing tool."))
		require.NoError(t, err)
		// Its worker died and Redis lost the task: the row says running.
		f.exec(`UPDATE sequence_generations SET status = 'running', created_at = now() - interval '2 minutes' WHERE id = $1`, run.ID)

		srv := jobs.NewServer(b.redis, jobs.Config{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Logger: b.logger})
		require.NoError(t, srv.Start(jobs.NewMux(handlers(t, b, jobs.NewPurgeHandler(b.db, jobs.PurgeConfig{Logger: b.logger})), b.logger)))
		t.Cleanup(srv.Shutdown)
		enq := jobs.NewEnqueuer(b.redis)
		t.Cleanup(func() { _ = enq.Close() })
		_, err = enq.Enqueue(t.Context(), jobs.NewRowRunSweepTask())
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			got, err := gen.Latest(context.Background(), a, camp.ID)
			return err == nil && got.Status == sequences.GenerationCompleted && got.Done == 3
		}, 30*time.Second, 50*time.Millisecond, "the sweep did not get the run finished")
		var n int
		require.NoError(t, b.owner.Pool.QueryRow(t.Context(), `SELECT count(*) FROM sequences WHERE campaign_id = $1`, camp.ID).Scan(&n))
		require.Equal(t, 3, n)
	})

	t.Run("AnImportWhoseEnqueueWasLostIsEnqueuedAgainAndCompletes", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		a, id := lostImport(t, b, 2*time.Minute)
		svc := leadimports.NewService(b.db, nil)
		got, err := svc.Get(t.Context(), a, id)
		require.NoError(t, err)
		require.Equal(t, leadimports.StatusQueued, got.Status)

		srv := jobs.NewServer(b.redis, jobs.Config{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Logger: b.logger})
		require.NoError(t, srv.Start(jobs.NewMux(handlers(t, b, jobs.NewPurgeHandler(b.db, jobs.PurgeConfig{Logger: b.logger})), b.logger)))
		t.Cleanup(srv.Shutdown)
		enq := jobs.NewEnqueuer(b.redis)
		t.Cleanup(func() { _ = enq.Close() })
		info, err := enq.Enqueue(t.Context(), jobs.NewRowRunSweepTask())
		require.NoError(t, err)
		require.Equal(t, jobs.QueueMaintenance, info.Queue)

		require.Eventually(t, func() bool {
			got, err = svc.Get(context.Background(), a, id)
			return err == nil && got.Status == leadimports.StatusCompleted
		}, 30*time.Second, 50*time.Millisecond, "the sweep did not get the import run")
		require.Equal(t, leadimports.Counts{RowsSeen: 2, Inserted: 2}, got.Counts)
	})

	t.Run("OnlyImportsQueuedLongerThanTheAgeAreEnqueued", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, stale := lostImport(t, b, 2*time.Minute)
		_, fresh := lostImport(t, b, 0)
		a, done := lostImport(t, b, 2*time.Minute)
		require.NoError(t, leadimports.NewService(b.db, nil).Run(t.Context(), a.OrgID, done))

		rec := &recordingEnqueuer{}
		h := jobs.NewRowRunSweepHandler(b.db, rec, jobs.RowRunSweepConfig{Logger: b.logger})
		require.NoError(t, h.ProcessTask(t.Context(), jobs.NewRowRunSweepTask()))
		// Other tests' imports may be swept too: the sweep is cross-org.
		require.True(t, rec.ids[stale], "an import queued for two minutes")
		require.False(t, rec.ids[fresh], "an import just created has its own enqueue on the way")
		require.False(t, rec.ids[done], "a finished import")
	})

	t.Run("AFailedEnqueueFailsTheSweepSoItIsRetried", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		lostImport(t, b, 2*time.Minute)
		rec := &recordingEnqueuer{err: errors.New("redis: connection refused")}
		h := jobs.NewRowRunSweepHandler(b.db, rec, jobs.RowRunSweepConfig{Logger: b.logger})
		require.ErrorContains(t, h.ProcessTask(t.Context(), jobs.NewRowRunSweepTask()), "connection refused")
	})
}

func ptr[T any](v T) *T { return &v }
