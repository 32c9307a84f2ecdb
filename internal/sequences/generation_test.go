package sequences_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/access"
	"github.com/leadpilot/leadpilot/internal/fault"
	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/llm/llmtest"
	"github.com/leadpilot/leadpilot/internal/llmsettings"
	"github.com/leadpilot/leadpilot/internal/secrets"
	"github.com/leadpilot/leadpilot/internal/sequences"
)

// recordingEnqueuer remembers the runs it was asked to queue; the test
// plays the worker by calling Run for them.
type recordingEnqueuer struct {
	mu  sync.Mutex
	ids []uuid.UUID
}

func (e *recordingEnqueuer) EnqueueGeneration(_ context.Context, _, id uuid.UUID) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ids = append(e.ids, id)
	return nil
}

func keyring(t testing.TB) *secrets.Keyring {
	t.Helper()
	kr, err := secrets.NewKeyring(map[string][]byte{"test": []byte("0123456789abcdef0123456789abcdef")}, "test")
	require.NoError(t, err)
	return kr
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// generator builds a generator on the org's real LLM settings with
// platform (the built-in provider when empty), fast backoffs.
func generator(t testing.TB, b bundle, platform llmfactory.Platform, concurrency int) (*sequences.Generator, *recordingEnqueuer, sequences.ProviderFor) {
	t.Helper()
	enq := &recordingEnqueuer{}
	providers := sequences.ProvidersFrom(llmsettings.NewService(b.db, keyring(t), platform, quiet))
	g := sequences.NewGenerator(b.db, providers, enq, sequences.GeneratorOptions{
		Concurrency: concurrency, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Logger: quiet,
	})
	return g, enq, providers
}

// counting wraps the org's provider: it counts calls, tracks how many are
// in flight at once, and cancels the run's context after cancelAfter calls
// (0: never), as a worker killed midway.
type counting struct {
	llm.Provider
	calls, inFlight, maxInFlight atomic.Int64
	cancelAfter                  int64
	cancel                       context.CancelFunc
}

func (c *counting) GenerateSequence(ctx context.Context, req llm.SequenceRequest) (llm.SequenceResult, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		m := c.maxInFlight.Load()
		if n <= m || c.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if k := c.calls.Add(1); c.cancelAfter > 0 && k == c.cancelAfter {
		c.cancel()
	}
	return c.Provider.GenerateSequence(ctx, req)
}

func (b bundle) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.owner.Pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// templateCampaign is a campaign with an organisation template of three
// email steps.
func (b bundle) templateCampaign(t testing.TB, a access.Actor) (campaignID, templateID uuid.UUID) {
	t.Helper()
	c := b.campaign(t, a)
	templateID = newID()
	_, err := b.owner.Pool.Exec(context.Background(), `
		INSERT INTO sequence_templates (id, org_id, name, channels, steps) VALUES ($1, $2, 'Intro', '{email}',
		  '[{"step":1,"delay_days":0,"channel":"email","subject":"Quick idea for {{company}}","body":"Hi {{first_name}}, we make invoices faster."},
		    {"step":2,"delay_days":3,"channel":"email","subject":"Following up","body":"Any thoughts, {{first_name}}?"},
		    {"step":3,"delay_days":5,"channel":"email","subject":"Last note","body":"I will leave it here."}]')`, templateID, a.OrgID)
	require.NoError(t, err)
	_, err = b.owner.Pool.Exec(context.Background(), `UPDATE campaigns SET template_id = $1 WHERE id = $2`, templateID, c.ID)
	require.NoError(t, err)
	return c.ID, templateID
}

func TestGenerationSurvivesAnInterruptedWorker(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	campaignID, _ := b.templateCampaign(t, b.member)
	const n = 1000
	b.leads(t, b.member, campaignID, n, true)
	b.leads(t, b.member, campaignID, 3, false) // not approved: not generated

	gen, enq, providers := generator(t, b, llmfactory.Platform{}, 4)
	run, err := gen.Start(ctx, b.member, campaignID, nil)
	require.NoError(t, err)
	require.Equal(t, sequences.GenerationQueued, run.Status)
	require.Equal(t, n, run.Total)
	require.Equal(t, []uuid.UUID{run.ID}, enq.ids)

	// First worker: stopped after 60 calls (a shutdown: what it got is
	// saved).
	killed, kill := context.WithCancel(ctx)
	defer kill()
	first := &counting{cancelAfter: 60, cancel: kill}
	g1 := sequences.NewGenerator(b.db, func(ctx context.Context, org uuid.UUID) (llm.Provider, error) {
		p, err := providers(ctx, org)
		first.Provider = p
		return first, err
	}, nil, sequences.GeneratorOptions{Concurrency: 4, Logger: quiet})
	require.ErrorIs(t, g1.Run(killed, b.member.OrgID, run.ID), context.Canceled)

	mid, err := gen.Latest(ctx, b.member, campaignID)
	require.NoError(t, err)
	require.Equal(t, sequences.GenerationRunning, mid.Status)
	require.Less(t, mid.Done, n, "the run was cut short")
	require.LessOrEqual(t, first.maxInFlight.Load(), int64(4), "never more calls at once than the org's concurrency")
	require.Equal(t, mid.Done, b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1`, campaignID))

	// The retried task carries on.
	second := &counting{}
	g2 := sequences.NewGenerator(b.db, func(ctx context.Context, org uuid.UUID) (llm.Provider, error) {
		p, err := providers(ctx, org)
		second.Provider = p
		return second, err
	}, nil, sequences.GeneratorOptions{Concurrency: 4, Logger: quiet})
	require.NoError(t, g2.Run(ctx, b.member.OrgID, run.ID))
	require.LessOrEqual(t, second.calls.Load(), int64(n-mid.Done), "only the leads not saved are asked again")

	end, err := gen.Latest(ctx, b.member, campaignID)
	require.NoError(t, err)
	require.Equal(t, sequences.GenerationCompleted, end.Status)
	require.Equal(t, n, end.Done)
	require.Zero(t, end.Failed)
	require.NotNil(t, end.FinishedAt)
	require.Equal(t, "builtin", *end.LLMProvider)
	require.NotNil(t, end.EstimatedCostUSD, "the built-in provider's price is known")
	require.Zero(t, *end.EstimatedCostUSD)

	require.Equal(t, n, b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1`, campaignID))
	require.Equal(t, n, b.count(t, `SELECT count(DISTINCT lead_id) FROM sequences WHERE campaign_id = $1`, campaignID))
	require.Zero(t, b.count(t, `SELECT count(*) FROM leads l WHERE l.campaign_id = $1 AND l.is_approved
		AND NOT EXISTS (SELECT 1 FROM sequences s WHERE s.lead_id = l.id)`, campaignID), "every approved lead has its sequence")
	require.Zero(t, b.count(t, `SELECT count(*) FROM leads l WHERE l.campaign_id = $1 AND NOT l.is_approved
		AND EXISTS (SELECT 1 FROM sequences s WHERE s.lead_id = l.id)`, campaignID))
	require.Equal(t, n, b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1 AND llm_provider = 'builtin' AND llm_model IS NOT NULL AND template_id IS NOT NULL`, campaignID))
	require.Equal(t, n, eventCount(t, b, b.member.OrgID, "sequence.generated"))
	require.Equal(t, 1, eventCount(t, b, b.member.OrgID, "generation.completed"))
	var leadsWaiting, sequencesWaiting int
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT (data->>'leads_waiting')::int, (data->>'sequences_waiting')::int
		FROM events WHERE org_id = $1 AND type = 'approval.needed' AND object_id = $2`, b.member.OrgID, campaignID).Scan(&leadsWaiting, &sequencesWaiting))
	require.Equal(t, 3, leadsWaiting, "the leads not approved")
	require.Equal(t, n, sequencesWaiting, "every new sequence awaits approval")
	require.Equal(t, int(first.calls.Load()+second.calls.Load()),
		b.count(t, `SELECT coalesce(sum(calls), 0) FROM llm_usage_daily WHERE org_id = $1 AND operation = 'generate_sequence'`, b.member.OrgID),
		"every call is metered, the repeated ones too")

	// The sequences are what the lead's endpoint shows.
	var leadID uuid.UUID
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT lead_id FROM sequences WHERE campaign_id = $1 LIMIT 1`, campaignID).Scan(&leadID))
	seq, err := b.svc.GetByLead(ctx, b.member, leadID)
	require.NoError(t, err)
	require.Len(t, seq.Steps, 3)
	require.NoError(t, llm.ValidateSequence(llm.SequenceRequest{Channels: []llm.Channel{llm.ChannelEmail}, Length: 3}, seq.Steps))

	t.Run("ARunThatEndedDoesNothingMore", func(t *testing.T) {
		require.NoError(t, gen.Run(ctx, b.member.OrgID, run.ID))
		require.Equal(t, 1, eventCount(t, b, b.member.OrgID, "generation.completed"))
	})
	t.Run("ASecondRunOnlyTakesNewLeads", func(t *testing.T) {
		b.leads(t, b.member, campaignID, 2, true)
		again, err := gen.Start(ctx, b.member, campaignID, nil)
		require.NoError(t, err)
		require.Equal(t, 2, again.Total)
		require.NoError(t, gen.Run(ctx, b.member.OrgID, again.ID))
		require.Equal(t, n+2, b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1`, campaignID))
	})
}

// validSequence is a model's answer: three email steps.
func validSequence() string {
	b, _ := json.Marshal(map[string]any{"steps": []map[string]any{
		{"step": 1, "delay_days": 0, "channel": "email", "subject": "Quick idea for {{company}}", "body": "Hi {{first_name}}, invoices in a minute."},
		{"step": 2, "delay_days": 3, "channel": "email", "subject": "Following up", "body": "Any thoughts?"},
		{"step": 3, "delay_days": 5, "channel": "email", "subject": "Last note", "body": "I will leave it here."},
	}})
	return string(b)
}

func rateLimited() llmtest.Reply {
	r := llmtest.OpenAIError(http.StatusTooManyRequests, "Rate limit reached for requests", "requests", "rate_limit_exceeded")
	r.Header = map[string]string{"retry-after-ms": "1", "retry-after": "0"}
	return r
}

func TestGenerationWithANetworkProvider(t *testing.T) {
	t.Parallel()

	t.Run("RateLimitsSlowTheRunAndNeverFailIt", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		fake := llmtest.NewOpenAI(t, "sk-platform")
		gen, _, _ := generator(t, b, llmfactory.Platform{
			Keys: map[string]string{llmfactory.OpenAI: "sk-platform"}, BaseURLs: map[string]string{llmfactory.OpenAI: llmtest.OpenAIBaseURL(fake)},
		}, 2)
		campaignID, _ := b.templateCampaign(t, b.member)
		b.leads(t, b.member, campaignID, 4, true)
		for range 8 {
			fake.Enqueue(rateLimited())
		}
		for range 4 {
			fake.Enqueue(llmtest.OpenAIChat("gpt-4o-mini", validSequence(), 100, 50))
		}
		run, err := gen.Start(ctx, b.member, campaignID, nil)
		require.NoError(t, err)
		require.NoError(t, gen.Run(ctx, b.member.OrgID, run.ID))

		end, err := gen.Latest(ctx, b.member, campaignID)
		require.NoError(t, err)
		require.Equal(t, sequences.GenerationCompleted, end.Status)
		require.Equal(t, 4, end.Done)
		require.Zero(t, end.Failed)
		require.Equal(t, int64(400), end.PromptTokens)
		require.Equal(t, int64(200), end.CompletionTokens)
		require.Equal(t, "openai", *end.LLMProvider)
		model := llmfactory.DefaultModel(llmfactory.OpenAI)
		require.Equal(t, model, *end.LLMModel)
		require.Equal(t, sequences.EstimateCost("openai", model, 400, 200), end.EstimatedCostUSD)
		require.Len(t, fake.Requests(), 12, "every 429 was asked again")
		require.Equal(t, 4, b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1 AND llm_provider = 'openai'
			AND llm_model = $2 AND llm_prompt_tokens = 100 AND llm_completion_tokens = 50`, campaignID, model))
	})

	t.Run("InvalidOutputFailsTheLeadWithTheValidatorsReason", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		fake := llmtest.NewOpenAI(t, "sk-platform")
		gen, _, _ := generator(t, b, llmfactory.Platform{
			Keys: map[string]string{llmfactory.OpenAI: "sk-platform"}, BaseURLs: map[string]string{llmfactory.OpenAI: llmtest.OpenAIBaseURL(fake)},
		}, 2)
		campaignID, _ := b.templateCampaign(t, b.member)
		ids := b.leads(t, b.member, campaignID, 2, true)
		bad, _ := json.Marshal(map[string]any{"steps": []map[string]any{{"step": 1, "delay_days": 0, "channel": "email", "subject": "", "body": "x"}}})
		// Each lead: an answer and its repair, both invalid.
		for range 4 {
			fake.Enqueue(llmtest.OpenAIChat("gpt-4o-mini", string(bad), 10, 5))
		}
		run, err := gen.Start(ctx, b.member, campaignID, nil)
		require.NoError(t, err)
		require.NoError(t, gen.Run(ctx, b.member.OrgID, run.ID))

		end, err := gen.Latest(ctx, b.member, campaignID)
		require.NoError(t, err)
		require.Equal(t, sequences.GenerationCompleted, end.Status, "failed leads do not fail the run")
		require.Zero(t, end.Done)
		require.Equal(t, 2, end.Failed)
		require.Len(t, end.Failures, 2)
		got := map[uuid.UUID]bool{}
		for _, f := range end.Failures {
			got[f.LeadID] = true
			require.Contains(t, f.Reason, "subject", "the validator's words")
		}
		require.Equal(t, map[uuid.UUID]bool{ids[0]: true, ids[1]: true}, got)
		require.Zero(t, b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1`, campaignID))
	})

	t.Run("ABadKeyFailsTheRunOnce", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		ctx := context.Background()
		fake := llmtest.NewOpenAI(t, "sk-right")
		gen, _, _ := generator(t, b, llmfactory.Platform{
			Keys: map[string]string{llmfactory.OpenAI: "sk-wrong"}, BaseURLs: map[string]string{llmfactory.OpenAI: llmtest.OpenAIBaseURL(fake)},
		}, 2)
		campaignID, _ := b.templateCampaign(t, b.member)
		b.leads(t, b.member, campaignID, 10, true)
		run, err := gen.Start(ctx, b.member, campaignID, nil)
		require.NoError(t, err)
		require.NoError(t, gen.Run(ctx, b.member.OrgID, run.ID))
		end, err := gen.Latest(ctx, b.member, campaignID)
		require.NoError(t, err)
		require.Equal(t, sequences.GenerationFailed, end.Status)
		require.NotNil(t, end.Error)
		require.Less(t, len(fake.Requests()), 10, "not every lead was tried with a key that cannot work")
	})
}

// frozen answers until its limit, then hangs every call until released:
// a worker that stopped dead (killed, its machine gone) mid-batch, whose
// answers were never saved.
type frozen struct {
	llm.Provider
	calls   atomic.Int64
	limit   int64
	release chan struct{}
}

func (f *frozen) GenerateSequence(ctx context.Context, req llm.SequenceRequest) (llm.SequenceResult, error) {
	if f.calls.Add(1) > f.limit {
		<-f.release
		return llm.SequenceResult{}, errors.New("the worker is gone")
	}
	return f.Provider.GenerateSequence(ctx, req)
}

func TestAWorkerKilledMidBatchLeavesNoLeadWithTwoSequences(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	campaignID, _ := b.templateCampaign(t, b.member)
	const n = 1000
	b.leads(t, b.member, campaignID, n, true)
	gen, _, providers := generator(t, b, llmfactory.Platform{}, 4)
	run, err := gen.Start(ctx, b.member, campaignID, nil)
	require.NoError(t, err)

	// The first worker answers 150 calls, then stops dead mid-batch.
	dead := &frozen{limit: 150, release: make(chan struct{})}
	g1 := sequences.NewGenerator(b.db, func(ctx context.Context, org uuid.UUID) (llm.Provider, error) {
		p, err := providers(ctx, org)
		dead.Provider = p
		return dead, err
	}, nil, sequences.GeneratorOptions{Concurrency: 4, Logger: quiet})
	firstDone := make(chan error, 1)
	go func() { firstDone <- g1.Run(ctx, b.member.OrgID, run.ID) }()
	require.Eventually(t, func() bool { return dead.calls.Load() > dead.limit+3 }, 10*time.Second, 5*time.Millisecond)
	saved := b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1`, campaignID)
	require.Less(t, saved, n)

	// Its task is delivered again (the lease ran out): a second worker runs
	// the same run while the first still holds its unsaved batch.
	require.NoError(t, sequences.NewGenerator(b.db, func(ctx context.Context, org uuid.UUID) (llm.Provider, error) {
		return providers(ctx, org)
	}, nil, sequences.GeneratorOptions{Concurrency: 4, Logger: quiet}).Run(ctx, b.member.OrgID, run.ID))

	// The first comes back to life (or its transaction finally lands):
	// what it saves now must not give any lead a second sequence.
	close(dead.release)
	<-firstDone

	end, err := gen.Latest(ctx, b.member, campaignID)
	require.NoError(t, err)
	require.Equal(t, sequences.GenerationCompleted, end.Status)
	require.Equal(t, n, end.Done+end.Failed)
	require.Equal(t, n, b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1`, campaignID))
	require.Equal(t, n, b.count(t, `SELECT count(DISTINCT lead_id) FROM sequences WHERE campaign_id = $1`, campaignID))
	require.Equal(t, n, eventCount(t, b, b.member.OrgID, "sequence.generated"), "one event per saved sequence, none for a lost answer")
}

func TestStartAndCancel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	gen, _, _ := generator(t, b, llmfactory.Platform{}, 4)

	t.Run("ACampaignWithoutATemplateNeedsADescription", func(t *testing.T) {
		c := b.campaign(t, b.member)
		b.leads(t, b.member, c.ID, 2, true)
		_, err := gen.Start(ctx, b.member, c.ID, nil)
		requireField(t, err, "description")
		run, err := gen.Start(ctx, b.member, c.ID, ptr("A friendly intro to our bookkeeping service"))
		require.NoError(t, err)
		require.NoError(t, gen.Run(ctx, b.member.OrgID, run.ID))
		end, err := gen.Latest(ctx, b.member, c.ID)
		require.NoError(t, err)
		require.Equal(t, 2, end.Done)
		require.Equal(t, "A friendly intro to our bookkeeping service", *end.Description)
	})
	t.Run("OneUnfinishedRunPerCampaign", func(t *testing.T) {
		campaignID, _ := b.templateCampaign(t, b.member)
		b.leads(t, b.member, campaignID, 2, true)
		_, err := gen.Start(ctx, b.member, campaignID, nil)
		require.NoError(t, err)
		_, err = gen.Start(ctx, b.member, campaignID, nil)
		require.True(t, fault.IsKind(err, fault.KindConflict), "%v", err)
	})
	t.Run("AnArchivedCampaignGeneratesNothing", func(t *testing.T) {
		campaignID, _ := b.templateCampaign(t, b.member)
		b.leads(t, b.member, campaignID, 1, true)
		_, err := b.owner.Pool.Exec(ctx, `UPDATE campaigns SET status = 'archived' WHERE id = $1`, campaignID)
		require.NoError(t, err)
		_, err = gen.Start(ctx, b.member, campaignID, nil)
		require.True(t, fault.IsKind(err, fault.KindConflict), "%v", err)
	})
	t.Run("LeadsAwaitingApprovalAreSaidNotSkippedSilently", func(t *testing.T) {
		campaignID, _ := b.templateCampaign(t, b.member)
		b.leads(t, b.member, campaignID, 2, false)
		before := eventCount(t, b, b.member.OrgID, "generation.completed")
		_, err := gen.Start(ctx, b.member, campaignID, nil)
		var fe *fault.Error
		require.ErrorAs(t, err, &fe)
		require.Equal(t, "leads_awaiting_approval", fe.Code)
		require.Contains(t, fe.Detail, "2 await approval")
		require.Equal(t, before, eventCount(t, b, b.member.OrgID, "generation.completed"), "no run, no event")
		require.Zero(t, b.count(t, `SELECT count(*) FROM sequence_generations WHERE campaign_id = $1`, campaignID))
	})
	t.Run("NothingToDoCompletesAtOnce", func(t *testing.T) {
		campaignID, _ := b.templateCampaign(t, b.member)
		before := eventCount(t, b, b.member.OrgID, "generation.completed")
		run, err := gen.Start(ctx, b.member, campaignID, nil)
		require.NoError(t, err)
		require.Equal(t, sequences.GenerationCompleted, run.Status)
		require.Zero(t, run.Total)
		require.Equal(t, before+1, eventCount(t, b, b.member.OrgID, "generation.completed"))
	})
	t.Run("TheTemplateIsCountedOncePerCampaign", func(t *testing.T) {
		campaignID, templateID := b.templateCampaign(t, b.member)
		for range 3 {
			b.leads(t, b.member, campaignID, 1, true)
			run, err := gen.Start(ctx, b.member, campaignID, nil)
			require.NoError(t, err)
			require.NoError(t, gen.Run(ctx, b.member.OrgID, run.ID))
		}
		require.Equal(t, 1, b.count(t, `SELECT usage_count FROM sequence_templates WHERE id = $1`, templateID))
	})
	t.Run("CancelStopsTheRun", func(t *testing.T) {
		campaignID, _ := b.templateCampaign(t, b.member)
		b.leads(t, b.member, campaignID, 5, true)
		run, err := gen.Start(ctx, b.member, campaignID, nil)
		require.NoError(t, err)
		got, err := gen.Cancel(ctx, b.member, campaignID)
		require.NoError(t, err)
		require.Equal(t, sequences.GenerationCancelled, got.Status)
		require.NoError(t, gen.Run(ctx, b.member.OrgID, run.ID), "the queued task finds the run cancelled")
		require.Zero(t, b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1`, campaignID))
		_, err = gen.Cancel(ctx, b.member, campaignID)
		require.True(t, fault.IsKind(err, fault.KindConflict), "%v", err)
		// A new run may start after a cancel.
		again, err := gen.Start(ctx, b.member, campaignID, nil)
		require.NoError(t, err)
		require.Equal(t, 5, again.Total)
	})
	t.Run("AnotherOrganisationSeesNothing", func(t *testing.T) {
		campaignID, _ := b.templateCampaign(t, b.member)
		b.leads(t, b.member, campaignID, 1, true)
		_, err := gen.Start(ctx, b.member, campaignID, nil)
		require.NoError(t, err)
		for name, call := range map[string]func() error{
			"Start":   func() error { _, err := gen.Start(ctx, b.other, campaignID, nil); return err },
			"Latest":  func() error { _, err := gen.Latest(ctx, b.other, campaignID); return err },
			"Cancel":  func() error { _, err := gen.Cancel(ctx, b.other, campaignID); return err },
			"Preview": func() error { _, err := gen.Preview(ctx, b.other, campaignID, nil, nil); return err },
		} {
			require.True(t, fault.IsKind(call(), fault.KindNotFound), name)
		}
	})
}

func requireField(t *testing.T, err error, field string) {
	t.Helper()
	fe, ok := fault.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, fault.KindInvalid, fe.Kind)
	require.Equal(t, field, fe.Fields[0].Field)
}

func TestPreview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	gen, _, _ := generator(t, b, llmfactory.Platform{}, 4)
	campaignID, _ := b.templateCampaign(t, b.member)
	ids := b.leads(t, b.member, campaignID, 3, true)

	t.Run("GeneratesForTheNamedLeadsAndSavesNothing", func(t *testing.T) {
		got, err := gen.Preview(ctx, b.member, campaignID, ids[:2], nil)
		require.NoError(t, err)
		require.Len(t, got, 2)
		for _, p := range got {
			require.Contains(t, ids[:2], *p.LeadID)
			require.Len(t, p.Steps, 3)
			require.Equal(t, "builtin", p.Meta.Provider)
		}
		require.Zero(t, b.count(t, `SELECT count(*) FROM sequences WHERE org_id = $1`, b.member.OrgID))
		require.Zero(t, b.count(t, `SELECT count(*) FROM sequence_generations WHERE org_id = $1`, b.member.OrgID))
		require.Zero(t, eventCount(t, b, b.member.OrgID, "sequence.generated"))
		require.Equal(t, 2, b.count(t, `SELECT coalesce(sum(calls), 0) FROM llm_usage_daily WHERE org_id = $1 AND operation = 'generate_sequence'`, b.member.OrgID), "metered")
	})
	t.Run("WithNoLeadTakesTheCampaignsFirst", func(t *testing.T) {
		got, err := gen.Preview(ctx, b.member, campaignID, nil, nil)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Equal(t, ids[0], *got[0].LeadID)
	})
	t.Run("AnEmptyCampaignUsesTheSampleLead", func(t *testing.T) {
		empty, _ := b.templateCampaign(t, b.member)
		got, err := gen.Preview(ctx, b.member, empty, nil, nil)
		require.NoError(t, err)
		require.Len(t, got, 1)
		require.Nil(t, got[0].LeadID)
	})
	t.Run("Limits", func(t *testing.T) {
		_, err := gen.Preview(ctx, b.member, campaignID, []uuid.UUID{newID(), newID(), newID(), newID(), newID(), newID()}, nil)
		requireField(t, err, "lead_ids")
		_, err = gen.Preview(ctx, b.member, campaignID, []uuid.UUID{newID()}, nil)
		require.True(t, fault.IsKind(err, fault.KindNotFound), "%v", err)
		other := b.campaign(t, b.other)
		otherLead := b.leads(t, b.other, other.ID, 1, true)
		_, err = gen.Preview(ctx, b.member, campaignID, otherLead, nil)
		require.True(t, fault.IsKind(err, fault.KindNotFound), "another organisation's lead: %v", err)
	})
}

func TestEstimateCost(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		provider, model string
		want            *float64
	}{
		"BuiltinIsFree":         {"builtin", "builtin-rules-v1", ptr(0.0)},
		"AKnownModel":           {"openai", "gpt-4o-mini", ptr((1_000_000*0.15 + 2_000_000*0.60) / 1e6)},
		"AnUnknownModelIsNull":  {"openai", "some-new-model", nil},
		"AnUnknownProviderNull": {"mystery", "gpt-4o-mini", nil},
	} {
		t.Run(name, func(t *testing.T) {
			got := sequences.EstimateCost(tc.provider, tc.model, 1_000_000, 2_000_000)
			if tc.want == nil {
				require.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			require.InDelta(t, *tc.want, *got, 1e-9)
		})
	}
}

func TestTheRequestCarriesTheMergedContextAndTheBrief(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	fake := llmtest.NewOpenAI(t, "sk-platform")
	gen, _, _ := generator(t, b, llmfactory.Platform{
		Keys: map[string]string{llmfactory.OpenAI: "sk-platform"}, BaseURLs: map[string]string{llmfactory.OpenAI: llmtest.OpenAIBaseURL(fake)},
	}, 1)
	c := b.campaign(t, b.member, "email")
	// The organisation says "faster invoices" and signs as Ada; the
	// campaign overrides the value proposition and leaves the rest.
	_, err := b.owner.Pool.Exec(ctx, `UPDATE campaigns SET llm_context = '{"value_proposition":"cheaper payroll","tone":""}' WHERE id = $1`, c.ID)
	require.NoError(t, err)
	ids := b.leads(t, b.member, c.ID, 1, true)
	fake.Enqueue(llmtest.OpenAIChat("m", validSequence(), 10, 5))

	got, err := gen.Preview(ctx, b.member, c.ID, ids, ptr("Invite them to our payroll webinar"))
	require.NoError(t, err)
	require.Len(t, got, 1)
	reqs := fake.Requests()
	require.Len(t, reqs, 1)
	body := string(reqs[0].Body)
	require.Contains(t, body, "cheaper payroll", "the campaign wins where it says something")
	require.NotContains(t, body, "faster invoices")
	require.Contains(t, body, "Ada", "the organisation's fields the campaign leaves empty stay")
	require.Contains(t, body, "Acme")
	require.Contains(t, body, "Invite them to our payroll webinar", "the description reaches the model")
	require.Contains(t, body, "Globex", "the lead's fields")
}

// cancelling calls Cancel on the campaign during its n-th call.
type cancelling struct {
	llm.Provider
	calls atomic.Int64
	n     int64
	do    func()
}

func (c *cancelling) GenerateSequence(ctx context.Context, req llm.SequenceRequest) (llm.SequenceResult, error) {
	if c.calls.Add(1) == c.n {
		c.do()
	}
	return c.Provider.GenerateSequence(ctx, req)
}

func TestCancelWhileRunning(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	gen, _, providers := generator(t, b, llmfactory.Platform{}, 1)
	campaignID, _ := b.templateCampaign(t, b.member)
	b.leads(t, b.member, campaignID, 20, true)
	run, err := gen.Start(ctx, b.member, campaignID, nil)
	require.NoError(t, err)

	p := &cancelling{n: 2, do: func() {
		_, err := gen.Cancel(ctx, b.member, campaignID)
		require.NoError(t, err)
	}}
	worker := sequences.NewGenerator(b.db, func(ctx context.Context, org uuid.UUID) (llm.Provider, error) {
		base, err := providers(ctx, org)
		p.Provider = base
		return p, err
	}, nil, sequences.GeneratorOptions{Concurrency: 1, Logger: quiet})
	require.NoError(t, worker.Run(ctx, b.member.OrgID, run.ID))

	end, err := gen.Latest(ctx, b.member, campaignID)
	require.NoError(t, err)
	require.Equal(t, sequences.GenerationCancelled, end.Status)
	// Concurrency 1 works in batches of 4: the batch under way finishes
	// and is saved, no further one starts.
	require.Equal(t, 4, end.Done)
	require.Equal(t, int64(4), p.calls.Load())
	require.Equal(t, 4, b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1`, campaignID))
	var status string
	require.NoError(t, b.owner.Pool.QueryRow(ctx, `SELECT data->>'status' FROM events WHERE org_id = $1 AND type = 'generation.completed'`, b.member.OrgID).Scan(&status))
	require.Equal(t, "cancelled", status)
}

func TestApprovalNeededTellsOwnersAndAdminsUntilNothingWaits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	admin := newID()
	_, err := b.owner.Pool.Exec(ctx, `
		WITH u AS (INSERT INTO users (id, email, password_hash) VALUES ($1, $2, 'x') RETURNING id)
		INSERT INTO memberships (id, org_id, user_id, role) SELECT $3, $4, u.id, 'admin' FROM u`,
		admin, "seq-admin-"+admin.String()+"@example.com", newID(), b.member.OrgID)
	require.NoError(t, err)
	campaignID, _ := b.templateCampaign(t, b.member)
	b.leads(t, b.member, campaignID, 3, true)
	gen, _, _ := generator(t, b, llmfactory.Platform{}, 2)
	run, err := gen.Start(ctx, b.member, campaignID, nil)
	require.NoError(t, err)
	require.NoError(t, gen.Run(ctx, b.member.OrgID, run.ID))

	unread := func() int {
		return b.count(t, `SELECT count(*) FROM notifications WHERE org_id = $1 AND user_id = $2 AND campaign_id = $3
			AND type = 'approval_needed' AND NOT is_read`, b.member.OrgID, admin, campaignID)
	}
	require.Equal(t, 1, unread(), "the admin is asked to approve")
	require.Zero(t, b.count(t, `SELECT count(*) FROM notifications WHERE org_id = $1 AND user_id = $2`, b.member.OrgID, b.member.UserID),
		"a member is not")
	r, err := b.svc.Approve(ctx, b.member, campaignID, sequences.Selection{All: true})
	require.NoError(t, err)
	require.Equal(t, 3, r.Changed)
	require.Zero(t, unread(), "nothing waits: the notification is withdrawn")
}

func TestTheCampaignsApprovalModeDecidesWhatWaits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for mode, wantApproved := range map[string]bool{"": false, "approve_all": false, "approve_list": true, "full_autopilot": true} {
		t.Run("Mode"+mode, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			campaignID, _ := b.templateCampaign(t, b.member)
			if mode != "" {
				_, err := b.owner.Pool.Exec(ctx, `UPDATE campaigns SET settings = jsonb_set(settings, '{approval_mode}', to_jsonb($1::text)) WHERE id = $2`, mode, campaignID)
				require.NoError(t, err)
			}
			b.leads(t, b.member, campaignID, 4, true)
			gen, _, _ := generator(t, b, llmfactory.Platform{}, 2)
			run, err := gen.Start(ctx, b.member, campaignID, nil)
			require.NoError(t, err)
			require.NoError(t, gen.Run(ctx, b.member.OrgID, run.ID))
			approved := b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1 AND is_approved AND approved_at IS NOT NULL AND approved_by IS NULL`, campaignID)
			if wantApproved {
				require.Equal(t, 4, approved, "content the lint passes is approved as it is written")
				require.Equal(t, 4, eventCount(t, b, b.member.OrgID, "sequence.approved"))
			} else {
				require.Zero(t, approved, "a person approves every sequence")
				require.Zero(t, eventCount(t, b, b.member.OrgID, "sequence.approved"))
			}
		})
	}
}

func TestAutopilotLeavesWhatTheLintBlocksForAPerson(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	campaignID, _ := b.templateCampaign(t, b.member)
	_, err := b.owner.Pool.Exec(ctx, `UPDATE campaigns SET settings = jsonb_set(settings, '{approval_mode}', '"full_autopilot"') WHERE id = $1`, campaignID)
	require.NoError(t, err)
	// Without a sender name every email fails the lint (an error: the
	// law wants to know who writes).
	_, err = b.owner.Pool.Exec(ctx, `UPDATE organizations SET business_context = business_context - 'sender_name' WHERE id = $1`, b.member.OrgID)
	require.NoError(t, err)
	b.leads(t, b.member, campaignID, 2, true)
	gen, _, _ := generator(t, b, llmfactory.Platform{}, 2)
	run, err := gen.Start(ctx, b.member, campaignID, nil)
	require.NoError(t, err)
	require.NoError(t, gen.Run(ctx, b.member.OrgID, run.ID))
	total := b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1`, campaignID)
	approved := b.count(t, `SELECT count(*) FROM sequences WHERE campaign_id = $1 AND is_approved`, campaignID)
	require.Equal(t, 2, total)
	require.Zero(t, approved, "what the lint blocks waits for a person, even on full autopilot")
	require.Equal(t, 1, eventCount(t, b, b.member.OrgID, "approval.needed"))
}
