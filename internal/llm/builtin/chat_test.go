package builtin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/builtin"
)

// ctxErr is what a call on a cancelled context must return.
var ctxErr = context.Canceled

func contextCancelled(t *testing.T) (context.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx, cancel
}

// sampleAnswers answer AutopilotQuestions in order, as a user would type them.
var sampleAnswers = []string{
	"B2B SaaS companies that sell to HR teams",
	"USA, Germany and fr",
	"Head of People, CHRO and VP of HR",
	"50 to 200 employees",
	"Personio, BambooHR, Rippling",
	"We sell an onboarding platform that gets new hires productive in half the time.",
	"Setup takes a day, and it plugs into the HRIS they already use.",
	"Book a 20-minute demo at https://cal.com/leadpilot/demo",
	"email and WhatsApp, no SMS",
	"I want to approve the leads and the messages",
}

// runInterview plays the interview with the given answers and returns the
// conversation, checking each assistant turn asks the expected question.
func runInterview(t *testing.T, p *builtin.Provider, answers []string) []llm.Message {
	t.Helper()
	msgs := []llm.Message{{Role: llm.RoleSystem, Content: "You are LeadPilot's assistant."}, {Role: llm.RoleUser, Content: "Let me find leads for you"}}
	for i, a := range answers {
		res, err := p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
		require.NoError(t, err)
		require.Contains(t, res.Content, builtin.AutopilotQuestions[i].Text, "turn %d", i)
		msgs = append(msgs, llm.Message{Role: llm.RoleAssistant, Content: res.Content}, llm.Message{Role: llm.RoleUser, Content: a})
	}
	return msgs
}

func TestChat(t *testing.T) {
	t.Parallel()

	p := builtin.New()

	t.Run("OpensWithAnIntroAndTheFirstQuestion", func(t *testing.T) {
		t.Parallel()
		for _, msgs := range [][]llm.Message{nil, {{Role: llm.RoleUser, Content: "hi"}}} {
			res, err := p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(res.Content, "Hi! I'm LeadPilot's built-in assistant."), res.Content)
			require.True(t, strings.HasSuffix(res.Content, builtin.AutopilotQuestions[0].Text))
			require.Equal(t, "builtin", res.Provider)
		}
	})

	t.Run("AsksEveryQuestionInOrderThenSummarises", func(t *testing.T) {
		t.Parallel()
		msgs := runInterview(t, p, sampleAnswers)
		res, err := p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
		require.NoError(t, err)
		for _, want := range []string{
			"Here's what I have so far:",
			"- Target customer: B2B SaaS companies that sell to HR teams",
			"- Countries: United States (US), Germany (DE), France (FR)",
			"- Job titles: Head of People, CHRO, VP of HR",
			"- Company size: 51-200 employees",
			"- Competitors: Personio, BambooHR, Rippling",
			"- Call to action: Book a 20-minute demo at https://cal.com/leadpilot/demo",
			"- Channels: email, WhatsApp",
			"- Autopilot level: Approve all",
			`Reply "yes" to confirm`,
		} {
			require.Contains(t, res.Content, want)
		}
	})

	t.Run("EchoesHowItUnderstoodStructuredAnswers", func(t *testing.T) {
		t.Parallel()
		msgs := runInterview(t, p, sampleAnswers[:2])
		res, err := p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(res.Content, "Got it: United States (US), Germany (DE), France (FR).\n\n"), res.Content)

		msgs = runInterview(t, p, sampleAnswers[:4])
		res, err = p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(res.Content, "Got it: 51-200 employees.\n\n"), res.Content)
	})

	t.Run("SaysSoWhenNoCountryMatched", func(t *testing.T) {
		t.Parallel()
		msgs := runInterview(t, p, []string{sampleAnswers[0], "wherever really"})
		res, err := p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
		require.NoError(t, err)
		require.Contains(t, res.Content, "I couldn't match a country")
		require.Contains(t, res.Content, builtin.AutopilotQuestions[2].Text)
	})

	t.Run("ConfirmsOnYes", func(t *testing.T) {
		t.Parallel()
		msgs := runInterview(t, p, sampleAnswers)
		res, err := p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
		require.NoError(t, err)
		msgs = append(msgs, llm.Message{Role: llm.RoleAssistant, Content: res.Content}, llm.Message{Role: llm.RoleUser, Content: "Yes, go ahead!"})
		res, err = p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
		require.NoError(t, err)
		require.Contains(t, res.Content, "Your campaign brief is confirmed")

		msgs = append(msgs, llm.Message{Role: llm.RoleAssistant, Content: res.Content}, llm.Message{Role: llm.RoleUser, Content: "thanks!"})
		res, err = p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(res.Content, "Your campaign brief is confirmed."), "a thank-you does not reopen the brief: %q", res.Content)
	})

	t.Run("AppliesACorrectionAndSummarisesAgain", func(t *testing.T) {
		t.Parallel()
		msgs := runInterview(t, p, sampleAnswers)
		res, err := p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
		require.NoError(t, err)
		msgs = append(msgs, llm.Message{Role: llm.RoleAssistant, Content: res.Content}, llm.Message{Role: llm.RoleUser, Content: "countries: Spain, Portugal"})
		res, err = p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(res.Content, "Updated. Here's what I have so far:"), res.Content)
		require.Contains(t, res.Content, "- Countries: Spain (ES), Portugal (PT)")
	})

	t.Run("AsksWhatToChangeOnAnythingElse", func(t *testing.T) {
		t.Parallel()
		msgs := runInterview(t, p, sampleAnswers)
		res, err := p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
		require.NoError(t, err)
		msgs = append(msgs, llm.Message{Role: llm.RoleAssistant, Content: res.Content}, llm.Message{Role: llm.RoleUser, Content: "hmm, not quite"})
		res, err = p.Chat(t.Context(), llm.ChatRequest{Messages: msgs})
		require.NoError(t, err)
		require.Contains(t, res.Content, `"field: value"`)
	})

	t.Run("CountsWordsAsUsage", func(t *testing.T) {
		t.Parallel()
		res, err := p.Chat(t.Context(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hello there friend"}}})
		require.NoError(t, err)
		require.Equal(t, 3, res.Usage.PromptTokens)
		require.Equal(t, len(strings.Fields(res.Content)), res.Usage.CompletionTokens)
	})
}

func TestChatStream(t *testing.T) {
	t.Parallel()

	p := builtin.New()
	req := llm.ChatRequest{Messages: runInterview(t, p, sampleAnswers[:3])}

	t.Run("YieldsTheChatTextWordByWordThenDone", func(t *testing.T) {
		t.Parallel()
		want, err := p.Chat(t.Context(), req)
		require.NoError(t, err)

		var b strings.Builder
		var chunks []llm.StreamChunk
		for c, err := range p.ChatStream(t.Context(), req) {
			require.NoError(t, err)
			chunks = append(chunks, c)
			b.WriteString(c.Delta)
		}
		require.Equal(t, want.Content, b.String())
		require.Greater(t, len(chunks), 10)
		last := chunks[len(chunks)-1]
		require.True(t, last.Done)
		require.Empty(t, last.Delta)
		require.Equal(t, want.Meta, last.Meta)
		for _, c := range chunks[:len(chunks)-1] {
			require.False(t, c.Done)
			require.LessOrEqual(t, len(strings.Fields(c.Delta)), 1, "one word per chunk: %q", c.Delta)
		}
	})

	t.Run("StopsWhenTheConsumerStops", func(t *testing.T) {
		t.Parallel()
		n := 0
		for range p.ChatStream(t.Context(), req) {
			n++
			if n == 2 {
				break
			}
		}
		require.Equal(t, 2, n)
	})

	t.Run("ReportsACancelledContext", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := contextCancelled(t)
		defer cancel()
		var errs []error
		for _, err := range p.ChatStream(ctx, req) {
			errs = append(errs, err)
		}
		require.Len(t, errs, 1)
		require.ErrorIs(t, errs[0], ctxErr)
	})
}
