package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadpilot/leadpilot/internal/llm"
	"github.com/leadpilot/leadpilot/internal/llm/llmtest"
	"github.com/leadpilot/leadpilot/internal/llm/openai"
)

const testKey = "sk-test-0123456789abcdef"

type bundle struct {
	fake *llmtest.Server
}

func setup(t *testing.T, name string, cfg openai.Config) (*openai.Provider, bundle) {
	t.Helper()
	fake := llmtest.NewOpenAI(t, testKey)
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	cfg.BaseURL = llmtest.OpenAIBaseURL(fake)
	if cfg.RetryBaseDelay == 0 {
		cfg.RetryBaseDelay = time.Millisecond
	}
	p, err := openai.New(name, cfg)
	require.NoError(t, err)
	return p, bundle{fake: fake}
}

// sentMessages returns the request's messages as role/content pairs.
func sentMessages(t *testing.T, req llmtest.Request) []llm.Message {
	t.Helper()
	var out []llm.Message
	for _, m := range req.JSON(t)["messages"].([]any) {
		mm := m.(map[string]any)
		out = append(out, llm.Message{Role: llm.Role(mm["role"].(string)), Content: mm["content"].(string)})
	}
	return out
}

var providers = []string{openai.OpenAI, openai.DeepSeek, openai.Groq}

func TestChat(t *testing.T) {
	t.Parallel()

	for _, name := range providers {
		t.Run("SendsTheConversationWithBearerKeyAndDefaultModelFor_"+name, func(t *testing.T) {
			t.Parallel()
			p, b := setup(t, name, openai.Config{})
			model := openai.DefaultModel(name)
			b.fake.Enqueue(llmtest.OpenAIChat(model, "Hi Ana!", 21, 5))

			res, err := p.Chat(context.Background(), llm.ChatRequest{
				Messages: []llm.Message{
					{Role: llm.RoleSystem, Content: "You are LeadPilot."},
					{Role: llm.RoleAssistant, Content: "Who do you sell to?"},
					{Role: llm.RoleUser, Content: "Dentists."},
				},
				MaxTokens: 200,
			})
			require.NoError(t, err)
			require.Equal(t, "Hi Ana!", res.Content)
			require.Equal(t, llm.Meta{Provider: name, Model: model, Usage: llm.Usage{PromptTokens: 21, CompletionTokens: 5}}, res.Meta)
			require.Equal(t, name, p.Name())

			reqs := b.fake.Requests()
			require.Len(t, reqs, 1)
			req := reqs[0]
			require.Equal(t, http.MethodPost, req.Method)
			require.Equal(t, "/v1/chat/completions", req.Path)
			require.Equal(t, "Bearer "+testKey, req.Header.Get("Authorization"))
			require.Empty(t, req.Header.Get("OpenAI-Organization"))
			body := req.JSON(t)
			require.Equal(t, model, body["model"])
			require.InDelta(t, 1.0, body["temperature"], 0, "an unset temperature is sent as the APIs' default")
			require.NotContains(t, body, "response_format")
			require.NotContains(t, body, "stream")
			if name == openai.DeepSeek {
				require.InDelta(t, 200, body["max_tokens"], 0)
				require.NotContains(t, body, "max_completion_tokens")
			} else {
				require.InDelta(t, 200, body["max_completion_tokens"], 0)
				require.NotContains(t, body, "max_tokens")
			}
			require.Equal(t, []llm.Message{
				{Role: llm.RoleSystem, Content: "You are LeadPilot."},
				{Role: llm.RoleAssistant, Content: "Who do you sell to?"},
				{Role: llm.RoleUser, Content: "Dentists."},
			}, sentMessages(t, req))
		})
	}

	t.Run("SendsTheCallersTemperatureAndModel", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{Model: "gpt-6.1-sol"})
		temp := 0.2

		_, err := p.Chat(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}, Temperature: &temp})
		require.NoError(t, err)
		body := b.fake.Requests()[0].JSON(t)
		require.Equal(t, "gpt-6.1-sol", body["model"])
		require.InDelta(t, 0.2, body["temperature"], 1e-9)
	})
}

func TestChatStream(t *testing.T) {
	t.Parallel()
	hi := llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}

	for _, name := range providers {
		t.Run("YieldsDeltasInOrderThenTheFinalUsageFor_"+name, func(t *testing.T) {
			t.Parallel()
			p, b := setup(t, name, openai.Config{})
			b.fake.Enqueue(llmtest.OpenAIStream(openai.DefaultModel(name), []string{"Hel", "lo", ", Ana"}, 30, 7))

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
			require.Equal(t, llm.Usage{PromptTokens: 30, CompletionTokens: 7}, last.Meta.Usage)

			body := b.fake.Requests()[0].JSON(t)
			require.Equal(t, true, body["stream"])
			require.Equal(t, map[string]any{"include_usage": true}, body["stream_options"])
		})
	}

	t.Run("StopsWhenTheConsumerStops", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		b.fake.Enqueue(llmtest.OpenAIStream(openai.DefaultOpenAIModel, []string{"a", "b", "c"}, 1, 1))

		var got []string
		for chunk, err := range p.ChatStream(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			require.NoError(t, err)
			got = append(got, chunk.Delta)
			break
		}
		require.Equal(t, []string{"a"}, got)
	})

	for _, name := range providers {
		t.Run("EndsWithAnErrorChunkAtAnErrorEventFor_"+name, func(t *testing.T) {
			t.Parallel()
			p, b := setup(t, name, openai.Config{})
			b.fake.Enqueue(llmtest.OpenAIStreamError(openai.DefaultModel(name), []string{"Hel", "lo"},
				"The server had an error while processing your request. Sorry about that!", "server_error", ""))

			deltas, last, err := drain(context.Background(), p, hi)
			require.Equal(t, []string{"Hel", "lo"}, deltas)
			require.False(t, last.Done, "a failed stream has no Done chunk")
			require.ErrorIs(t, err, llm.ErrUnavailable)
			var e *llm.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, name, e.Provider)
			require.Equal(t, "The server had an error while processing your request. Sorry about that!", e.Message)
			require.Len(t, b.fake.Requests(), 1, "an answer that has begun is not retried")
		})

		t.Run("EndsWithAnErrorChunkWhenTheStreamIsCutBeforeDONEFor_"+name, func(t *testing.T) {
			t.Parallel()
			p, b := setup(t, name, openai.Config{})
			b.fake.Enqueue(llmtest.OpenAIStreamCut(openai.DefaultModel(name), []string{"Hel", "lo"}))

			deltas, last, err := drain(context.Background(), p, hi)
			require.Equal(t, []string{"Hel", "lo"}, deltas)
			require.False(t, last.Done)
			require.ErrorIs(t, err, llm.ErrUnavailable)
			require.ErrorContains(t, err, "stream ended early")
		})
	}

	t.Run("MapsAnErrorEventLikeAnErrorBody", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name               string
			message, typ, code string
			want               error
		}{
			{name: "RateLimit", message: "Rate limit reached for gpt-6-luna on tokens per min (TPM).", typ: "tokens", code: "rate_limit_exceeded", want: llm.ErrRateLimited},
			{name: "Quota", message: "You exceeded your current quota, please check your plan and billing details.", typ: "insufficient_quota", code: "insufficient_quota", want: llm.ErrQuota},
			{name: "InvalidRequest", message: "This model's maximum context length is 128000 tokens.", typ: "invalid_request_error", code: "context_length_exceeded", want: llm.ErrBadRequest},
			{name: "NumericStatusCode", message: "Upstream overloaded", typ: "", code: "503", want: llm.ErrUnavailable},
			{name: "UnknownType", message: "something broke", typ: "weird_error", code: "", want: llm.ErrUnavailable},
		}
		for _, tt := range tests {
			p, b := setup(t, openai.OpenAI, openai.Config{})
			b.fake.Enqueue(llmtest.OpenAIStreamError(openai.DefaultOpenAIModel, []string{"a"}, tt.message, tt.typ, tt.code))

			_, last, err := drain(context.Background(), p, hi)
			require.False(t, last.Done, tt.name)
			require.ErrorIs(t, err, tt.want, tt.name)
			require.ErrorContains(t, err, tt.message, tt.name)
		}
	})

	t.Run("ReadsAnErrorSentAsAnErrorEventWithoutTheWrapper", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.Groq, openai.Config{})
		reply := llmtest.OpenAIStreamCut(openai.DefaultGroqModel, []string{"a"})
		reply.Chunks = append(reply.Chunks, "event: error\ndata: {\"message\":\"Service Unavailable\",\"type\":\"internal_server_error\"}\n\n")
		b.fake.Enqueue(reply)

		_, last, err := drain(context.Background(), p, hi)
		require.False(t, last.Done)
		require.ErrorIs(t, err, llm.ErrUnavailable)
		require.ErrorContains(t, err, "Service Unavailable")
		require.NotContains(t, err.Error(), "stream ended early")
	})

	t.Run("RedactsAKeyEchoedInAnErrorEvent", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.DeepSeek, openai.Config{})
		b.fake.Enqueue(llmtest.OpenAIStreamError(openai.DefaultDeepSeekModel, nil, "Authentication Fails, Your api key: "+testKey+" is invalid", "authentication_error", ""))

		_, _, err := drain(context.Background(), p, hi)
		require.ErrorIs(t, err, llm.ErrInvalidKey)
		require.NotContains(t, err.Error(), testKey)
	})

	t.Run("StopsAtTheErrorEventEvenWhenTheServerSendsMore", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		failing := llmtest.OpenAIStreamError(openai.DefaultOpenAIModel, []string{"a"}, "boom", "server_error", "")
		rest := llmtest.OpenAIStream(openai.DefaultOpenAIModel, []string{"b"}, 1, 1)
		failing.Chunks = append(failing.Chunks, rest.Chunks[1:]...)
		b.fake.Enqueue(failing)

		deltas, last, err := drain(context.Background(), p, hi)
		require.Equal(t, []string{"a"}, deltas)
		require.False(t, last.Done)
		require.ErrorIs(t, err, llm.ErrUnavailable)
		require.ErrorContains(t, err, "boom")
	})

	t.Run("ReturnsTheCallersCancellationMidStream", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		stalled := llmtest.OpenAIStreamCut(openai.DefaultOpenAIModel, []string{"a"})
		stalled.Stall = true
		b.fake.Enqueue(stalled)
		// The timeout only bounds the test; the caller cancels first.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()

		var deltas []string
		var gotErr error
		for chunk, err := range p.ChatStream(ctx, hi) {
			if err != nil {
				gotErr = err
				continue
			}
			require.False(t, chunk.Done, "a cancelled stream has no Done chunk")
			deltas = append(deltas, chunk.Delta)
			cancel()
		}
		require.Equal(t, []string{"a"}, deltas)
		require.ErrorIs(t, gotErr, context.Canceled)
		require.False(t, errors.Is(gotErr, llm.ErrUnavailable))
	})

	t.Run("ReportsAStalledStreamPastTheDeadlineAsUnavailable", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		stalled := llmtest.OpenAIStreamCut(openai.DefaultOpenAIModel, []string{"a"})
		stalled.Stall = true
		b.fake.Enqueue(stalled)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()

		deltas, last, err := drain(ctx, p, hi)
		require.Equal(t, []string{"a"}, deltas)
		require.False(t, last.Done)
		require.ErrorIs(t, err, llm.ErrUnavailable)
		require.ErrorContains(t, err, "did not answer in time")
	})

	t.Run("YieldsTheMappedErrorWhenTheKeyIsWrong", func(t *testing.T) {
		t.Parallel()
		p, _ := setup(t, openai.OpenAI, openai.Config{APIKey: "sk-wrong-0000000000000000"})

		var gotErr error
		for _, err := range p.ChatStream(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}) {
			gotErr = err
		}
		require.ErrorIs(t, gotErr, llm.ErrInvalidKey)
	})
}

func TestGenerateSequence(t *testing.T) {
	t.Parallel()

	for _, name := range providers {
		t.Run("AsksForJSONModeAndReturnsValidatedStepsFor_"+name, func(t *testing.T) {
			t.Parallel()
			p, b := setup(t, name, openai.Config{})
			b.fake.Enqueue(llmtest.OpenAIChat(openai.DefaultModel(name), llmtest.SequenceJSON, 400, 120))

			res, err := p.GenerateSequence(context.Background(), llmtest.SequenceRequest())
			require.NoError(t, err)
			require.Len(t, res.Steps, 2)
			require.Equal(t, "Quick idea for {{company}}", res.Steps[0].Subject)
			require.Equal(t, llm.Meta{Provider: name, Model: openai.DefaultModel(name), Usage: llm.Usage{PromptTokens: 400, CompletionTokens: 120}}, res.Meta)

			req := b.fake.Requests()[0]
			require.Equal(t, map[string]any{"type": "json_object"}, req.JSON(t)["response_format"])
			msgs := sentMessages(t, req)
			require.Equal(t, llm.RoleSystem, msgs[0].Role)
			require.Contains(t, msgs[0].Content, "JSON")
			require.Contains(t, msgs[1].Content, `"company": "Acme"`)
		})
	}

	t.Run("AcceptsOneSurroundingCodeFence", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		b.fake.Enqueue(llmtest.OpenAIChat(openai.DefaultOpenAIModel, "```json\n"+llmtest.SequenceJSON+"\n```", 10, 10))

		res, err := p.GenerateSequence(context.Background(), llmtest.SequenceRequest())
		require.NoError(t, err)
		require.Len(t, res.Steps, 2)
		require.Len(t, b.fake.Requests(), 1)
	})

	t.Run("RepairsMalformedJSON", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		b.fake.Enqueue(
			llmtest.OpenAIChat(openai.DefaultOpenAIModel, `{"steps": [{"step": 1,}]}`, 300, 20),
			llmtest.OpenAIChat(openai.DefaultOpenAIModel, llmtest.SequenceJSON, 350, 110),
		)

		res, err := p.GenerateSequence(context.Background(), llmtest.SequenceRequest())
		require.NoError(t, err)
		require.Len(t, res.Steps, 2)
		require.Equal(t, llm.Usage{PromptTokens: 650, CompletionTokens: 130}, res.Usage)

		reqs := b.fake.Requests()
		require.Len(t, reqs, 2)
		second := sentMessages(t, reqs[1])
		require.Len(t, second, 4)
		require.Equal(t, llm.Message{Role: llm.RoleAssistant, Content: `{"steps": [{"step": 1,}]}`}, second[2])
		require.Contains(t, second[3].Content, "not valid JSON")
		require.Equal(t, map[string]any{"type": "json_object"}, reqs[1].JSON(t)["response_format"])
	})

	t.Run("RepairsWhatGroqRefusedAsInvalidJSON", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.Groq, openai.Config{})
		failed := llmtest.OpenAIError(http.StatusBadRequest, "Failed to generate JSON. Please adjust your prompt. See 'failed_generation' for more details.", "invalid_request_error", "json_validate_failed")
		failed.Body = `{"error":{"message":"Failed to generate JSON. Please adjust your prompt. See 'failed_generation' for more details.","type":"invalid_request_error","code":"json_validate_failed","failed_generation":` + quote(llmtest.BadSequenceJSON) + `}}`
		b.fake.Enqueue(failed, llmtest.OpenAIChat(openai.DefaultGroqModel, llmtest.SequenceJSON, 350, 110))

		res, err := p.GenerateSequence(context.Background(), llmtest.SequenceRequest())
		require.NoError(t, err)
		require.Len(t, res.Steps, 2)
		repair := sentMessages(t, b.fake.Requests()[1])[3].Content
		require.Contains(t, repair, "/steps/0/subject: an email step needs a subject")
	})

	t.Run("FailsWithTheViolationsWhenTheRepairFailsToo", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.DeepSeek, openai.Config{})
		bad := llmtest.OpenAIChat(openai.DefaultDeepSeekModel, llmtest.BadSequenceJSON, 300, 90)
		b.fake.Enqueue(bad, bad)

		_, err := p.GenerateSequence(context.Background(), llmtest.SequenceRequest())
		require.ErrorIs(t, err, llm.ErrInvalidOutput)
		var e *llm.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, "deepseek", e.Provider)
		require.NotEmpty(t, e.Violations)
	})
}

func TestClassifyReply(t *testing.T) {
	t.Parallel()

	t.Run("ReturnsTheClass", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		b.fake.Enqueue(llmtest.OpenAIChat(openai.DefaultOpenAIModel, llmtest.ClassificationJSON, 80, 20))

		res, err := p.ClassifyReply(context.Background(), llmtest.InterestedReply(), nil)
		require.NoError(t, err)
		require.Equal(t, llm.Interested, res.Classification)
		require.InDelta(t, 0.92, res.Confidence, 1e-9)
		require.Equal(t, "openai", res.Provider)

		req := b.fake.Requests()[0]
		require.Equal(t, map[string]any{"type": "json_object"}, req.JSON(t)["response_format"])
		require.Contains(t, sentMessages(t, req)[1].Content, "Sounds good, can we talk Tuesday?")
	})
}

func TestExtract(t *testing.T) {
	t.Parallel()

	t.Run("ReturnsTheStatedFields", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.Groq, openai.Config{})
		b.fake.Enqueue(llmtest.OpenAIChat(openai.DefaultGroqModel, llmtest.ExtractJSON, 60, 15))

		res, err := p.Extract(context.Background(), llmtest.ExtractSchema(), llmtest.ExtractConversation())
		require.NoError(t, err)
		require.Equal(t, map[string]any{"target_countries": []string{"Portugal", "Spain"}, "company_size": "11-50"}, res.Fields)
		require.Equal(t, "groq", res.Provider)
		require.Contains(t, sentMessages(t, b.fake.Requests()[0])[1].Content, "user: Portugal and Spain")
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	hi := llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}}

	t.Run("RetriesA429AfterRetryAfterMsThenSucceeds", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		limited := llmtest.OpenAIError(http.StatusTooManyRequests, "Rate limit reached for gpt-6-luna on requests per min (RPM): Limit 3, Used 3, Requested 1.", "requests", "rate_limit_exceeded")
		limited.Header = map[string]string{"retry-after-ms": "5", "retry-after": "1"}
		b.fake.Enqueue(limited, llmtest.OpenAIChat(openai.DefaultOpenAIModel, "ok", 1, 1))

		res, err := p.Chat(context.Background(), hi)
		require.NoError(t, err)
		require.Equal(t, "ok", res.Content)
		reqs := b.fake.Requests()
		require.Len(t, reqs, 2)
		require.Equal(t, reqs[0].Body, reqs[1].Body)
	})

	t.Run("ReportsRateLimitedWhenRetriesRunOut", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.Groq, openai.Config{MaxRetries: -1})
		b.fake.Enqueue(llmtest.OpenAIError(http.StatusTooManyRequests, "Rate limit reached for model `openai/gpt-oss-120b` on tokens per minute (TPM).", "tokens", "rate_limit_exceeded"))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrRateLimited)
		require.ErrorContains(t, err, "Rate limit reached")
		require.Len(t, b.fake.Requests(), 1)
	})

	t.Run("ReportsAnInvalidKeyWithTheAPIMessage", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{APIKey: "sk-wrong-0000000000000000"})

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrInvalidKey)
		var e *llm.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, http.StatusUnauthorized, e.Status)
		require.Contains(t, e.Message, "Incorrect API key provided")
		require.NotContains(t, e.Message, "sk-wrong-0000000000000000")
		require.Len(t, b.fake.Requests(), 1, "a 401 is not retried")
	})

	t.Run("RedactsAKeyEchoedInTheMessage", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.DeepSeek, openai.Config{})
		b.fake.Enqueue(llmtest.OpenAIError(http.StatusUnauthorized, "Authentication Fails, Your api key: "+testKey+" is invalid", "authentication_error", "invalid_request_error"))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrInvalidKey)
		require.NotContains(t, err.Error(), testKey)
		require.ErrorContains(t, err, "[redacted]")
	})

	t.Run("ReportsAnUnknownModel", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{Model: "gpt-nope"})
		b.fake.Enqueue(llmtest.OpenAIError(http.StatusNotFound, "The model `gpt-nope` does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrModelNotFound)
		require.ErrorContains(t, err, "The model `gpt-nope` does not exist")
	})

	t.Run("ReportsDeepSeeksModelNotExistAsAnUnknownModel", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.DeepSeek, openai.Config{Model: "deepseek-nope"})
		b.fake.Enqueue(llmtest.OpenAIError(http.StatusBadRequest, "Model Not Exist", "invalid_request_error", "invalid_request_error"))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrModelNotFound)
	})

	t.Run("ReportsInsufficientQuotaWithoutRetrying", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		b.fake.Enqueue(llmtest.OpenAIError(http.StatusTooManyRequests, "You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", "insufficient_quota"))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrQuota)
		require.ErrorContains(t, err, "You exceeded your current quota")
		require.Len(t, b.fake.Requests(), 1)
	})

	t.Run("ReportsDeepSeeksInsufficientBalanceAsQuota", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.DeepSeek, openai.Config{})
		b.fake.Enqueue(llmtest.OpenAIError(http.StatusPaymentRequired, "Insufficient Balance", "unknown_error", "invalid_request_error"))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrQuota)
	})

	t.Run("ReportsServerErrorsAsUnavailable", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{MaxRetries: 1})
		down := llmtest.OpenAIError(http.StatusServiceUnavailable, "The server is overloaded or not ready yet.", "server_error", "")
		b.fake.Enqueue(down, down)

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrUnavailable)
		require.Len(t, b.fake.Requests(), 2)
	})

	t.Run("ReturnsTheCallersCancellationAsIs", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()

		_, err := p.Chat(ctx, hi)
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, errors.Is(err, llm.ErrUnavailable))

		_, err = p.GenerateSequence(ctx, llmtest.SequenceRequest())
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, errors.Is(err, llm.ErrUnavailable))

		_, _, err = drain(ctx, p, hi)
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, errors.Is(err, llm.ErrUnavailable))
		require.Empty(t, b.fake.Requests())
	})

	t.Run("ReturnsTheCallersCancellationWhileWaitingForTheAnswer", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		b.fake.Enqueue(llmtest.Reply{Stall: true, Chunks: []string{}})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		time.AfterFunc(50*time.Millisecond, cancel)

		_, err := p.Chat(ctx, hi)
		require.ErrorIs(t, err, context.Canceled)
		require.False(t, errors.Is(err, llm.ErrUnavailable))
	})

	t.Run("ReportsADeadlineAsUnavailable", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		b.fake.Enqueue(llmtest.Reply{Stall: true, Chunks: []string{}})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()

		_, err := p.Chat(ctx, hi)
		require.ErrorIs(t, err, llm.ErrUnavailable)
		require.ErrorContains(t, err, "did not answer in time")
	})

	t.Run("ReportsOtherRejectionsAsBadRequest", func(t *testing.T) {
		t.Parallel()
		p, b := setup(t, openai.OpenAI, openai.Config{})
		b.fake.Enqueue(llmtest.OpenAIError(http.StatusBadRequest, "Unsupported value: 'temperature' does not support 0.2 with this model.", "invalid_request_error", "unsupported_value"))

		_, err := p.Chat(context.Background(), hi)
		require.ErrorIs(t, err, llm.ErrBadRequest)
	})
}

func TestNew(t *testing.T) {
	t.Parallel()

	t.Run("RefusesAnEmptyKey", func(t *testing.T) {
		t.Parallel()
		_, err := openai.New(openai.OpenAI, openai.Config{APIKey: "  "})
		require.ErrorIs(t, err, llm.ErrNotConfigured)
	})

	t.Run("RefusesAnUnknownProvider", func(t *testing.T) {
		t.Parallel()
		_, err := openai.New("mistral", openai.Config{APIKey: testKey})
		require.ErrorContains(t, err, "unknown provider")
	})

	t.Run("KnowsEachProvidersDefaults", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "https://api.openai.com/v1", openai.DefaultBaseURL(openai.OpenAI))
		require.Equal(t, "https://api.deepseek.com", openai.DefaultBaseURL(openai.DeepSeek))
		require.Equal(t, "https://api.groq.com/openai/v1", openai.DefaultBaseURL(openai.Groq))
		require.Equal(t, "gpt-6-luna", openai.DefaultModel(openai.OpenAI))
		require.Equal(t, "deepseek-flash", openai.DefaultModel(openai.DeepSeek))
		require.Equal(t, "openai/gpt-oss-120b", openai.DefaultModel(openai.Groq))
	})
}

// TestIgnoresEnvironment cannot run in parallel: it sets the process-wide
// variables langchaingo falls back to for empty options.
func TestIgnoresEnvironment(t *testing.T) {
	envFake := llmtest.NewOpenAI(t, "sk-platform-env-key-000000")
	t.Setenv("OPENAI_API_KEY", "sk-platform-env-key-000000")
	t.Setenv("OPENAI_BASE_URL", llmtest.OpenAIBaseURL(envFake))
	t.Setenv("OPENAI_API_BASE", llmtest.OpenAIBaseURL(envFake))
	t.Setenv("OPENAI_ORGANIZATION", "org-platform")
	t.Setenv("OPENAI_MODEL", "gpt-env-model")

	t.Run("AnEmptyOrgKeyNeverPicksUpThePlatformKey", func(t *testing.T) {
		for _, name := range providers {
			_, err := openai.New(name, openai.Config{})
			require.ErrorIs(t, err, llm.ErrNotConfigured, name)
		}
	})

	t.Run("TheConfiguredKeyURLAndModelWin", func(t *testing.T) {
		fake := llmtest.NewOpenAI(t, "sk-org-key-abcdef0123456")
		p, err := openai.New(openai.OpenAI, openai.Config{APIKey: "sk-org-key-abcdef0123456", BaseURL: llmtest.OpenAIBaseURL(fake)})
		require.NoError(t, err)

		_, err = p.Chat(context.Background(), llm.ChatRequest{Messages: []llm.Message{{Role: llm.RoleUser, Content: "hi"}}})
		require.NoError(t, err)
		reqs := fake.Requests()
		require.Len(t, reqs, 1)
		require.Equal(t, "Bearer sk-org-key-abcdef0123456", reqs[0].Header.Get("Authorization"))
		require.Empty(t, reqs[0].Header.Get("OpenAI-Organization"))
		require.Equal(t, openai.DefaultOpenAIModel, reqs[0].JSON(t)["model"])
		require.Empty(t, envFake.Requests())
	})
}

func quote(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// drain reads a whole stream: the deltas, the Done chunk if any, and the
// error that ended it if any.
func drain(ctx context.Context, p *openai.Provider, req llm.ChatRequest) (deltas []string, last llm.StreamChunk, err error) {
	for chunk, cerr := range p.ChatStream(ctx, req) {
		if cerr != nil {
			err = cerr
			continue
		}
		if chunk.Done {
			last = chunk
			continue
		}
		deltas = append(deltas, chunk.Delta)
	}
	return deltas, last, err
}
