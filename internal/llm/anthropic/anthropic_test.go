package anthropic_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/anthropic"
	"github.com/leadpilot/leadpilot/internal/llm/llmtest"
)

const testKey = "sk-ant-test-key-123456"

type bundle struct {
	fake *llmtest.Server
}

func setup(t *testing.T, cfg anthropic.Config) (*anthropic.Provider, bundle) {
	t.Helper()
	fake := llmtest.NewAnthropic(t, testKey)
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	cfg.BaseURL = fake.URL
	if cfg.RetryBaseDelay == 0 {
		cfg.RetryBaseDelay = time.Millisecond
	}
	p, err := anthropic.New(cfg)
	require.NoError(t, err)
	return p, bundle{fake: fake}
}

// messages returns the "messages" array of a recorded request as
// role/text pairs.
func messages(t *testing.T, req llmtest.Request) []llm.Message {
	t.Helper()
	var out []llm.Message
	for _, m := range req.JSON(t)["messages"].([]any) {
		mm := m.(map[string]any)
		for _, block := range mm["content"].([]any) {
			out = append(out, llm.Message{Role: llm.Role(mm["role"].(string)), Content: block.(map[string]any)["text"].(string)})
		}
	}
	return out
}

func TestChat(t *testing.T) {
	t.Parallel()

	t.Run("SendsTheConversationWithKeyVersionAndModel", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(llmtest.AnthropicText(anthropic.DefaultModel, "Hi Ana!", 21, 5))
		temp := 0.3

		res, err := p.Chat(context.Background(), llm.ChatRequest{
			Messages: []llm.Message{
				{Role: llm.RoleSystem, Content: "You are LeadPilot."},
				{Role: llm.RoleUser, Content: "Say hi to Ana."},
			},
			Temperature: &temp,
			MaxTokens:   100,
		})
		require.NoError(t, err)
		require.Equal(t, "Hi Ana!", res.Content)
		require.Equal(t, llm.Meta{Provider: "anthropic", Model: anthropic.DefaultModel, Usage: llm.Usage{PromptTokens: 21, CompletionTokens: 5}}, res.Meta)

		reqs := b.fake.Requests()
		require.Len(t, reqs, 1)
		req := reqs[0]
		require.Equal(t, http.MethodPost, req.Method)
		require.Equal(t, "/v1/messages", req.Path)
		require.Equal(t, testKey, req.Header.Get("X-Api-Key"))
		require.Equal(t, llmtest.AnthropicVersion, req.Header.Get("Anthropic-Version"))
		require.Empty(t, req.Header.Get("Authorization"))
		body := req.JSON(t)
		require.Equal(t, anthropic.DefaultModel, body["model"])
		require.InDelta(t, 100, body["max_tokens"], 0)
		require.InDelta(t, 0.3, body["temperature"], 1e-9)
		require.Equal(t, "You are LeadPilot.", body["system"].([]any)[0].(map[string]any)["text"])
		require.Equal(t, []llm.Message{{Role: llm.RoleUser, Content: "Say hi to Ana."}}, messages(t, req))
		require.NotContains(t, body, "stream")
		require.NotContains(t, body, "tools")
	})

	t.Run("StartsWithAUserTurnWhenTheAssistantSpokeFirst", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{Model: "claude-haiku-5-5"})

		_, err := p.Chat(context.Background(), llm.ChatRequest{Messages: []llm.Message{
			{Role: llm.RoleAssistant, Content: "Who do you sell to?"},
			{Role: llm.RoleUser, Content: "Dentists."},
			{Role: llm.RoleUser, Content: "In Lisbon."},
		}})
		require.NoError(t, err)

		req := b.fake.Requests()[0]
		require.Equal(t, "claude-haiku-5-5", req.JSON(t)["model"])
		require.Equal(t, []llm.Message{
			{Role: llm.RoleUser, Content: "(conversation start)"},
			{Role: llm.RoleAssistant, Content: "Who do you sell to?"},
			{Role: llm.RoleUser, Content: "Dentists.\n\nIn Lisbon."},
		}, messages(t, req))
	})
}

func TestChatStream(t *testing.T) {
	t.Parallel()

	t.Run("YieldsDeltasInOrderThenUsage", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(llmtest.AnthropicStream(anthropic.DefaultModel, []string{"Hel", "lo", ", Ana"}, 30, 7))

		var deltas []string
		var last llm.StreamChunk
		for chunk, err := range p.ChatStream(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			require.NoError(t, err)
			if chunk.Done {
				last = chunk
				continue
			}
			deltas = append(deltas, chunk.Delta)
		}
		require.Equal(t, []string{"Hel", "lo", ", Ana"}, deltas)
		require.True(t, last.Done)
		require.Equal(t, llm.Meta{Provider: "anthropic", Model: anthropic.DefaultModel, Usage: llm.Usage{PromptTokens: 30, CompletionTokens: 7}}, last.Meta)

		body := b.fake.Requests()[0].JSON(t)
		require.Equal(t, true, body["stream"])
	})

	t.Run("StopsWhenTheConsumerStops", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(llmtest.AnthropicStream(anthropic.DefaultModel, []string{"a", "b", "c"}, 1, 1))

		var got []string
		for chunk, err := range p.ChatStream(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			require.NoError(t, err)
			got = append(got, chunk.Delta)
			break
		}
		require.Equal(t, []string{"a"}, got)
	})

	t.Run("EndsWithAnErrorChunkWhenTheStreamIsCutOff", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(llmtest.AnthropicStreamCut(anthropic.DefaultModel, []string{"Hel", "lo"}, 10))

		var deltas []string
		var gotErr error
		for chunk, err := range p.ChatStream(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			if err != nil {
				gotErr = err
				continue
			}
			require.False(t, chunk.Done, "a cut-off stream has no Done chunk")
			deltas = append(deltas, chunk.Delta)
		}
		require.Equal(t, []string{"Hel", "lo"}, deltas)
		require.ErrorIs(t, gotErr, llm.ErrUnavailable)
		require.ErrorContains(t, gotErr, "stream ended early")
	})

	t.Run("ReturnsTheCallersCancellationMidStream", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		stalled := llmtest.AnthropicStream(anthropic.DefaultModel, []string{"a"}, 1, 1)
		stalled.Chunks = stalled.Chunks[:len(stalled.Chunks)-1]
		stalled.Stall = true
		b.fake.Enqueue(stalled)
		// The timeout only bounds the test; the caller cancels first.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()

		var gotErr error
		for chunk, err := range p.ChatStream(ctx, llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			if err != nil {
				gotErr = err
				continue
			}
			require.False(t, chunk.Done)
			cancel()
		}
		require.ErrorIs(t, gotErr, context.Canceled)
		require.False(t, errors.Is(gotErr, llm.ErrUnavailable))
	})

	t.Run("YieldsTheMappedErrorWhenTheKeyIsWrong", func(t *testing.T) {
		t.Parallel()
		p, _ := setup(t, anthropic.Config{APIKey: "sk-ant-wrong-key-000000"})

		var gotErr error
		for _, err := range p.ChatStream(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			gotErr = err
		}
		require.ErrorIs(t, gotErr, llm.ErrInvalidKey)
	})
}

func TestGenerateSequence(t *testing.T) {
	t.Parallel()

	t.Run("ForcesTheToolAndReturnsValidatedSteps", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(llmtest.AnthropicToolUse(anthropic.DefaultModel, llm.TaskSequence, llmtest.SequenceJSON, 400, 120))

		res, err := p.GenerateSequence(context.Background(), llmtest.SequenceRequest())
		require.NoError(t, err)
		require.Len(t, res.Steps, 2)
		require.Equal(t, llm.Step{Step: 1, DelayDays: 0, Channel: llm.ChannelEmail, Subject: "Quick idea for {{company}}", Body: "Hi {{first_name}},\n\nWorth a 15-minute call?\n\nSam"}, res.Steps[0])
		require.Equal(t, llm.ChannelSMS, res.Steps[1].Channel)
		require.Equal(t, llm.Meta{Provider: "anthropic", Model: anthropic.DefaultModel, Usage: llm.Usage{PromptTokens: 400, CompletionTokens: 120}}, res.Meta)

		body := b.fake.Requests()[0].JSON(t)
		require.Equal(t, map[string]any{"type": "tool", "name": llm.TaskSequence}, body["tool_choice"])
		tools := body["tools"].([]any)
		require.Len(t, tools, 1)
		tool := tools[0].(map[string]any)
		require.Equal(t, llm.TaskSequence, tool["name"])
		schema := tool["input_schema"].(map[string]any)
		require.Equal(t, "object", schema["type"])
		require.Equal(t, []any{"steps"}, schema["required"])
		require.Equal(t, false, schema["additionalProperties"])
		require.Contains(t, body["system"].([]any)[0].(map[string]any)["text"], "Exactly 2 steps")
	})

	t.Run("RepairsAnAnswerThatIsNotJSON", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(
			llmtest.AnthropicText(anthropic.DefaultModel, `Sure! Here it is: {"steps": [`, 300, 20),
			llmtest.AnthropicToolUse(anthropic.DefaultModel, llm.TaskSequence, llmtest.SequenceJSON, 350, 110),
		)

		res, err := p.GenerateSequence(context.Background(), llmtest.SequenceRequest())
		require.NoError(t, err)
		require.Len(t, res.Steps, 2)
		require.Equal(t, llm.Usage{PromptTokens: 650, CompletionTokens: 130}, res.Usage)

		reqs := b.fake.Requests()
		require.Len(t, reqs, 2)
		second := messages(t, reqs[1])
		require.Len(t, second, 3)
		require.Equal(t, llm.Message{Role: llm.RoleAssistant, Content: `Sure! Here it is: {"steps": [`}, second[1])
		require.Equal(t, llm.RoleUser, second[2].Role)
		require.Contains(t, second[2].Content, "not valid JSON")
		require.Equal(t, map[string]any{"type": "tool", "name": llm.TaskSequence}, reqs[1].JSON(t)["tool_choice"])
	})

	t.Run("RepairsAnAnswerThatBreaksContentRules", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(
			llmtest.AnthropicToolUse(anthropic.DefaultModel, llm.TaskSequence, llmtest.BadSequenceJSON, 300, 90),
			llmtest.AnthropicToolUse(anthropic.DefaultModel, llm.TaskSequence, llmtest.SequenceJSON, 350, 110),
		)

		res, err := p.GenerateSequence(context.Background(), llmtest.SequenceRequest())
		require.NoError(t, err)
		require.Equal(t, "Quick idea for {{company}}", res.Steps[0].Subject)

		repair := messages(t, b.fake.Requests()[1])[2].Content
		require.Contains(t, repair, "/steps/0/delay_days: the first step must have delay_days 0")
		require.Contains(t, repair, "/steps/0/subject: an email step needs a subject")
	})

	t.Run("FailsWithTheViolationsWhenTheRepairFailsToo", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(
			llmtest.AnthropicToolUse(anthropic.DefaultModel, llm.TaskSequence, llmtest.BadSequenceJSON, 300, 90),
			llmtest.AnthropicToolUse(anthropic.DefaultModel, llm.TaskSequence, llmtest.BadSequenceJSON, 300, 90),
		)

		res, err := p.GenerateSequence(context.Background(), llmtest.SequenceRequest())
		require.ErrorIs(t, err, llm.ErrInvalidOutput)
		var e *llm.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, "anthropic", e.Provider)
		require.Contains(t, e.Violations, llm.Violation{Path: "/steps/0/subject", Message: "an email step needs a subject"})
		require.Equal(t, llm.Usage{PromptTokens: 600, CompletionTokens: 180}, res.Usage)
		require.Len(t, b.fake.Requests(), 2)
	})
}

func TestClassifyReply(t *testing.T) {
	t.Parallel()

	t.Run("ReturnsTheClassAndQuotesTheReply", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(llmtest.AnthropicToolUse(anthropic.DefaultModel, llm.TaskClassify, llmtest.ClassificationJSON, 80, 20))

		res, err := p.ClassifyReply(context.Background(), llmtest.InterestedReply(), &llm.Original{Subject: "Quick idea for Acme", Body: "Worth a call?"})
		require.NoError(t, err)
		require.Equal(t, llm.Interested, res.Classification)
		require.InDelta(t, 0.92, res.Confidence, 1e-9)
		require.Equal(t, "Asks for a call next week.", res.Reason)
		require.Equal(t, "anthropic", res.Provider)

		req := b.fake.Requests()[0]
		require.Equal(t, map[string]any{"type": "tool", "name": llm.TaskClassify}, req.JSON(t)["tool_choice"])
		user := messages(t, req)[0].Content
		require.Contains(t, user, "<reply>\nFrom: ana@acme.test\nSubject: Re: Quick idea for Acme\n\nSounds good, can we talk Tuesday?\n</reply>")
		require.Contains(t, user, "<original>")
	})
}

func TestExtract(t *testing.T) {
	t.Parallel()

	t.Run("ReturnsTheStatedFields", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(llmtest.AnthropicToolUse(anthropic.DefaultModel, llm.TaskExtract, llmtest.ExtractJSON, 60, 15))

		res, err := p.Extract(context.Background(), llmtest.ExtractSchema(), llmtest.ExtractConversation())
		require.NoError(t, err)
		require.Equal(t, map[string]any{"target_countries": []string{"Portugal", "Spain"}, "company_size": "11-50"}, res.Fields)

		body := b.fake.Requests()[0].JSON(t)
		schema := body["tools"].([]any)[0].(map[string]any)["input_schema"].(map[string]any)
		require.Contains(t, schema["properties"], "company_size")
		require.Contains(t, messages(t, b.fake.Requests()[0])[0].Content, "user: Portugal and Spain")
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	hi := llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}

	t.Run("RetriesA429ThenSucceeds", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		limited := llmtest.AnthropicError(http.StatusTooManyRequests, "rate_limit_error", "Number of requests has exceeded your per-minute rate limit")
		limited.Header["retry-after"] = "0"
		b.fake.Enqueue(limited, llmtest.AnthropicText(anthropic.DefaultModel, "ok", 1, 1))

		res, err := p.Chat(context.Background(), hi)
		require.NoError(t, err)
		require.Equal(t, "ok", res.Content)
		reqs := b.fake.Requests()
		require.Len(t, reqs, 2)
		require.Equal(t, reqs[0].Body, reqs[1].Body)
	})

	t.Run("ReportsRateLimitedWhenRetriesRunOut", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{MaxRetries: 1})
		limited := llmtest.AnthropicError(http.StatusTooManyRequests, "rate_limit_error", "Number of requests has exceeded your per-minute rate limit")
		b.fake.Enqueue(limited, limited)

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrRateLimited)
		require.Len(t, b.fake.Requests(), 2)
	})

	t.Run("ReportsAnInvalidKeyWithTheAPIMessage", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{APIKey: "sk-ant-wrong-key-000000"})

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrInvalidKey)
		var e *llm.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, "invalid x-api-key", e.Message)
		require.Equal(t, http.StatusUnauthorized, e.Status)
		require.Len(t, b.fake.Requests(), 1, "a 401 is not retried")
	})

	t.Run("ReportsAnUnknownModel", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{Model: "claude-nope"})
		b.fake.Enqueue(llmtest.AnthropicError(http.StatusNotFound, "not_found_error", "model: claude-nope"))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrModelNotFound)
		require.ErrorContains(t, err, "model: claude-nope")
	})

	t.Run("ReportsAnEmptyCreditBalanceAsQuota", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(llmtest.AnthropicError(http.StatusBadRequest, "invalid_request_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrQuota)
	})

	t.Run("DoesNotRetryA429ForAnExhaustedQuota", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(llmtest.AnthropicError(http.StatusTooManyRequests, "rate_limit_error", "You have reached your specified workspace API usage limits."))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrQuota)
		require.Len(t, b.fake.Requests(), 1)
	})

	t.Run("ReportsOverloadedAsUnavailable", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{MaxRetries: 1})
		overloaded := llmtest.AnthropicError(529, "overloaded_error", "Overloaded")
		b.fake.Enqueue(overloaded, overloaded)

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrUnavailable)
		require.Len(t, b.fake.Requests(), 2)
	})

	t.Run("ReportsOtherInvalidRequestsAsBadRequest", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		b.fake.Enqueue(llmtest.AnthropicError(http.StatusBadRequest, "invalid_request_error", "temperature: range: 0..1"))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrBadRequest)
	})

	t.Run("ReportsATemperatureAboveOneAsBadRequest", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, anthropic.Config{})
		temp := 1.5

		_, err := p.Chat(context.Background(), llm.ChatRequest{Messages: hi.Messages, Temperature: &temp})
		require.ErrorIs(t, err, llm.ErrBadRequest)
		var e *llm.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, http.StatusBadRequest, e.Status)
		require.Equal(t, "temperature: range: 0..1", e.Message)
		reqs := b.fake.Requests()
		require.Len(t, reqs, 1, "a 400 is not retried")
		require.InDelta(t, 1.5, reqs[0].JSON(t)["temperature"], 1e-9, "the adapter sends the caller's value; the settings layer validates it")

		temp = 1.0
		_, err = p.Chat(context.Background(), llm.ChatRequest{Messages: hi.Messages, Temperature: &temp})
		require.NoError(t, err, "1.0 is the top of the range")
	})

	t.Run("ReturnsTheCallersCancellationAsIs", func(t *testing.T) {
		t.Parallel()
		p, _ := setup(t, anthropic.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()

		_, err := p.Chat(ctx, hi)
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, errors.Is(err, llm.ErrUnavailable))
	})
}

func TestNew(t *testing.T) {
	t.Parallel()

	t.Run("RefusesAnEmptyKey", func(t *testing.T) {
		t.Parallel()
		_, err := anthropic.New(anthropic.Config{})
		require.ErrorIs(t, err, llm.ErrNotConfigured)
	})
}

// TestIgnoresEnvironment cannot run in parallel: it sets process-wide
// environment variables the SDK would otherwise read.
func TestIgnoresEnvironment(t *testing.T) {
	envFake := llmtest.NewAnthropic(t, "sk-ant-platform-env-key")
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-platform-env-key")
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "sk-ant-platform-env-key")
	t.Setenv("ANTHROPIC_BASE_URL", envFake.URL)

	t.Run("AnEmptyKeyIsNotConfigured", func(t *testing.T) {
		_, err := anthropic.New(anthropic.Config{})
		require.ErrorIs(t, err, llm.ErrNotConfigured)
	})

	t.Run("TheConfiguredKeyAndURLWin", func(t *testing.T) {
		fake := llmtest.NewAnthropic(t, "sk-ant-org-key-abcdef")
		p, err := anthropic.New(anthropic.Config{APIKey: "sk-ant-org-key-abcdef", BaseURL: fake.URL})
		require.NoError(t, err)

		_, err = p.Chat(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}})
		require.NoError(t, err)
		require.Len(t, fake.Requests(), 1)
		require.Equal(t, "sk-ant-org-key-abcdef", fake.Requests()[0].Header.Get("X-Api-Key"))
		require.Empty(t, fake.Requests()[0].Header.Get("Authorization"))
		require.Empty(t, envFake.Requests())
	})
}
