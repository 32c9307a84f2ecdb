package sequences_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
	"github.com/leadpilot/leadpilot/internal/llm/llmfactory"
	"github.com/leadpilot/leadpilot/internal/sequences"
)

// BenchmarkGenerationBuiltin is the pipeline's own overhead: a run of
// 10,000 leads with the built-in provider (no model latency), end to end
// (start, the worker's batches, each batch's saving transaction with its
// events, usage metering), in sequences/s, beside the baseline of the same
// 10,000 built-in calls made directly, from the same run. The issue asks
// for 2,000 sequences/s.
func BenchmarkGenerationBuiltin(b *testing.B) {
	const n = 10000
	bb := setup(b)
	ctx := context.Background()
	gen, _, providers := generator(b, bb, llmfactory.Platform{}, 8)
	campaignID, _ := bb.templateCampaign(b, bb.member)
	_, err := bb.owner.Pool.Exec(ctx, `
		INSERT INTO leads (id, org_id, campaign_id, email, first_name, company, is_approved)
		SELECT gen_random_uuid(), $1, $2, 'bench' || i || '@example.com', 'Lea', 'Globex', true
		FROM generate_series(1, $3) AS i`, bb.member.OrgID, campaignID, n)
	require.NoError(b, err)

	var pipeline, direct time.Duration
	for b.Loop() {
		_, err := bb.owner.Pool.Exec(ctx, `DELETE FROM sequences WHERE campaign_id = $1`, campaignID)
		require.NoError(b, err)
		start := time.Now()
		run, err := gen.Start(ctx, bb.member, campaignID, nil)
		require.NoError(b, err)
		require.NoError(b, gen.Run(ctx, bb.member.OrgID, run.ID))
		pipeline += time.Since(start)
		require.Equal(b, n, bb.count(b, `SELECT count(*) FROM sequences WHERE campaign_id = $1`, campaignID))

		// Baseline: the same calls, straight to the built-in provider.
		p := builtin.New()
		_, err = providers(ctx, bb.member.OrgID) // as the run does, once
		require.NoError(b, err)
		req := llm.SequenceRequest{Channels: []llm.Channel{llm.ChannelEmail}, Length: 3, Template: &llm.Template{Name: "Intro", Steps: []llm.TemplateStep{
			{Step: 1, Channel: llm.ChannelEmail, Subject: "Quick idea for {{company}}", Body: "Hi {{first_name}}, we make invoices faster."},
			{Step: 2, DelayDays: 3, Channel: llm.ChannelEmail, Subject: "Following up", Body: "Any thoughts, {{first_name}}?"},
			{Step: 3, DelayDays: 5, Channel: llm.ChannelEmail, Subject: "Last note", Body: "I will leave it here."},
		}}}
		start = time.Now()
		for i := range n {
			req.Lead = llm.Lead{FirstName: "Lea", Company: "Globex", Email: uuid.NewString() + string(rune('a'+i%26))}
			_, err := p.GenerateSequence(ctx, req)
			require.NoError(b, err)
		}
		direct += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/pipeline.Seconds(), "sequences/s")
	b.ReportMetric(float64(n*b.N)/direct.Seconds(), "baseline-calls/s")
	b.Logf("%d leads x %d: pipeline %.0f sequences/s, built-in calls alone %.0f/s (target 2,000 sequences/s end to end)",
		n, b.N, float64(n*b.N)/pipeline.Seconds(), float64(n*b.N)/direct.Seconds())
}

// slow is a provider that takes latency per call, as a network model does.
type slow struct {
	llm.Provider
	latency time.Duration
}

func (s slow) GenerateSequence(ctx context.Context, req llm.SequenceRequest) (llm.SequenceResult, error) {
	select {
	case <-time.After(s.latency):
	case <-ctx.Done():
		return llm.SequenceResult{}, ctx.Err()
	}
	return s.Provider.GenerateSequence(ctx, req)
}

// BenchmarkGenerationConcurrency shows throughput scaling with the
// configured concurrency when each call takes 500 ms: it prints
// sequences/s for 1, 8 and 32 beside the ideal (concurrency / latency).
// Each run has 8 calls per slot (about 4 s of model time).
func BenchmarkGenerationConcurrency(b *testing.B) {
	const latency = 500 * time.Millisecond
	for _, c := range []int{1, 8, 32} {
		n := 8 * c
		b.Run(fmt.Sprintf("Concurrency%d", c), func(b *testing.B) {
			bb := setup(b)
			ctx := context.Background()
			_, _, providers := generator(b, bb, llmfactory.Platform{}, c)
			gen := sequences.NewGenerator(bb.db, func(ctx context.Context, org uuid.UUID) (llm.Provider, error) {
				p, err := providers(ctx, org)
				return slow{Provider: p, latency: latency}, err
			}, &recordingEnqueuer{}, sequences.GeneratorOptions{Concurrency: c, Logger: quiet})
			campaignID, _ := bb.templateCampaign(b, bb.member)
			_, err := bb.owner.Pool.Exec(ctx, `
				INSERT INTO leads (id, org_id, campaign_id, email, first_name, company, is_approved)
				SELECT gen_random_uuid(), $1, $2, 'bench' || i || '@example.com', 'Lea', 'Globex', true
				FROM generate_series(1, $3) AS i`, bb.member.OrgID, campaignID, n)
			require.NoError(b, err)
			var total time.Duration
			for b.Loop() {
				_, err := bb.owner.Pool.Exec(ctx, `DELETE FROM sequences WHERE campaign_id = $1`, campaignID)
				require.NoError(b, err)
				start := time.Now()
				run, err := gen.Start(ctx, bb.member, campaignID, nil)
				require.NoError(b, err)
				require.NoError(b, gen.Run(ctx, bb.member.OrgID, run.ID))
				total += time.Since(start)
			}
			got := float64(n*b.N) / total.Seconds()
			ideal := float64(c) / latency.Seconds()
			b.ReportMetric(got, "sequences/s")
			b.ReportMetric(ideal, "ideal-sequences/s")
			b.Logf("concurrency %d, %s a call: %.1f sequences/s (ideal %.0f)", c, latency, got, ideal)
		})
	}
}
